"""f-AnoGAN's network on a trained GAN: an encoder trained with the generator and discriminator frozen.

The encoder ("izi_f", Schlegl et al. 2019) is trained on healthy images only with
:class:`medmonai.losses.IziFLoss`; :mod:`medmonai.scoring.gan` turns the same residuals into anomaly scores.

A progressive discriminator's minibatch-standard-deviation layer makes an image's features depend on the other
images of its group. In training, groups are random healthy training images, as when the discriminator was
trained; in scoring, every image is passed in a group with the same ``group_size - 1`` healthy reference images,
so its score never depends on what it is batched with (and grouping costs ``group_size`` times the discriminator
passes only where it matters).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from medmonai.keys import Keys

__all__ = ["IziFNetwork", "grouped_discriminator"]


def grouped_discriminator(
    discriminator: nn.Module, x: torch.Tensor, reference: torch.Tensor | None, method: str = "forward"
) -> torch.Tensor:
    """``discriminator.<method>`` of each image of ``x`` in a group with the fixed ``reference`` images.

    Args:
        discriminator: a GAN discriminator (``forward`` gives ``(B,)`` scores, ``features`` ``(B, F)``).
        x: ``(B, C, H, W)`` images.
        reference: ``(G - 1, C, H, W)`` images each one is grouped with; None or empty: ``x`` as one batch.
        method: ``"forward"`` or ``"features"``. Defaults to ``"forward"``.

    Returns:
        ``x``'s rows of the result, in order.
    """
    call = getattr(discriminator, method)
    if reference is None or len(reference) == 0:
        return call(x)
    group = len(reference) + 1
    stacked = torch.cat([torch.cat([image[None], reference]) for image in x])  # (B * group, C, H, W)
    return call(stacked)[::group]


class IziFNetwork(nn.Module):
    """``E``, the frozen ``G`` and ``D``: ``x -> {"recon": G(E(x)), "z", "features_real", "features_fake"}``.

    ``G`` and ``D`` stay in eval mode and get no gradient, whatever mode the trainer sets; only the encoder trains.

    Args:
        encoder: ``images -> (B, latent_size)`` (:class:`medmonai.networks.GANEncoder`).
        generator: the trained (averaged) generator.
        discriminator: the trained discriminator, with ``features``.
        reference: healthy images every scored image is grouped with (see the module docstring); the first
            ``group_size - 1`` are kept. Defaults to None (no grouping).
        group_size: the discriminator's minibatch-std group. Defaults to 4.
    """

    def __init__(
        self,
        encoder: nn.Module,
        generator: nn.Module,
        discriminator: nn.Module,
        reference: torch.Tensor | Sequence | None = None,
        group_size: int = 4,
    ) -> None:
        super().__init__()
        self.encoder, self.generator, self.discriminator = encoder, generator, discriminator
        for frozen in (generator, discriminator):
            frozen.requires_grad_(False)
        if reference is not None and not isinstance(reference, torch.Tensor):
            reference = torch.stack([torch.as_tensor(reference[i][Keys.IMAGE]) for i in range(group_size - 1)])
        kept = None if reference is None else reference[: group_size - 1].float().clone()
        self.register_buffer("reference", kept, persistent=False)

    def train(self, mode: bool = True) -> IziFNetwork:
        """Set the encoder's mode; the generator and discriminator stay in eval mode."""
        super().train(mode)
        self.generator.eval()
        self.discriminator.eval()
        return self

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The discriminator's features: in the batch's own groups in training, else with the reference images."""
        return grouped_discriminator(self.discriminator, x, None if self.training else self.reference, "features")

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """Encode, generate, and take both images' features."""
        z = self.encoder(x)
        recon = self.generator(z)
        return {Keys.RECON: recon, Keys.Z: z, "features_real": self.features(x), "features_fake": self.features(recon)}
