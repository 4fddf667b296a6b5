"""f-AnoGAN on a trained GAN: an encoder trained with the generator and discriminator frozen, and its score.

The encoder ("izi_f", Schlegl et al. 2019) minimises, on healthy images only,
``mean((x - G(E(x)))^2) + kappa * mean((f_D(x) - f_D(G(E(x))))^2)``, where ``f_D`` are the discriminator's
penultimate features; the same expression per image is its anomaly score, and ``|x - G(E(x))|`` its pixel map.

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

__all__ = ["IziFLoss", "IziFNetwork", "discriminator_anomaly_scores", "fanogan_maps", "fanogan_scores"]


def _grouped(discriminator: nn.Module, x: torch.Tensor, reference: torch.Tensor | None, method: str) -> torch.Tensor:
    """``discriminator.<method>`` of each image of ``x`` in a group with the fixed ``reference`` images."""
    call = getattr(discriminator, method)
    if reference is None or len(reference) == 0:
        return call(x)
    group = len(reference) + 1
    stacked = torch.cat([torch.cat([image[None], reference]) for image in x])  # (B * group, C, H, W)
    return call(stacked)[::group]


def discriminator_anomaly_scores(
    discriminator: nn.Module, images: torch.Tensor, reference: torch.Tensor | None = None
) -> torch.Tensor:
    """``-D(x)`` per image, ``(B,)``: the less real the discriminator finds an image, the more anomalous."""
    return -_grouped(discriminator, images, reference, "forward").float()


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
        return _grouped(self.discriminator, x, None if self.training else self.reference, "features")

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """Encode, generate, and take both images' features."""
        z = self.encoder(x)
        recon = self.generator(z)
        return {Keys.RECON: recon, Keys.Z: z, "features_real": self.features(x), "features_fake": self.features(recon)}


def fanogan_scores(output: dict[str, torch.Tensor], images: torch.Tensor, kappa: float = 1.0) -> torch.Tensor:
    """f-AnoGAN's per-image score ``(B,)``: pixel MSE plus ``kappa`` times feature MSE."""
    residual = (images - output[Keys.RECON]).square().flatten(1).mean(1)
    features = (output["features_real"] - output["features_fake"]).square().flatten(1).mean(1)
    return residual + kappa * features


def fanogan_maps(output: dict[str, torch.Tensor], images: torch.Tensor) -> torch.Tensor:
    """f-AnoGAN's pixel map ``(B, H, W)``: ``|x - G(E(x))|`` averaged over channels."""
    return (images - output[Keys.RECON]).abs().mean(1)


class IziFLoss(nn.Module):
    """The izi_f training loss: the batch mean of :func:`fanogan_scores`.

    ``output_keys`` declares the network outputs it takes after the target (see
    :class:`medmonai.engines.OutputLoss`): ``loss(recon, target, features_real, features_fake)``.

    Args:
        kappa: weight of the feature residual. Defaults to 1 (the paper's).
    """

    output_keys = (Keys.RECON, "features_real", "features_fake")

    def __init__(self, kappa: float = 1.0) -> None:
        super().__init__()
        self.kappa = float(kappa)

    def forward(
        self, recon: torch.Tensor, target: torch.Tensor, features_real: torch.Tensor, features_fake: torch.Tensor
    ) -> torch.Tensor:
        """The loss."""
        output = {Keys.RECON: recon, "features_real": features_real, "features_fake": features_fake}
        return fanogan_scores(output, target, self.kappa).mean()
