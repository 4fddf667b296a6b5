"""The f-AnoGAN encoder (Schlegl et al. 2019): an image to the latent code of a trained, frozen generator."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from medmonai.networks.gan.dcgan import down_block, widths
from medmonai.networks.gan.layers import check_positive, halve_to_base, norm_spec

__all__ = ["GANEncoder"]


class GANEncoder(nn.Module):
    """Image to latent ``z``: stride-2 convs down to a small base shape, then a linear layer to ``latent_size``.

    This is f-AnoGAN's "izi_f" encoder: trained with the generator frozen so that ``G(E(x))`` reconstructs ``x``
    (and the discriminator's features of both agree). The output is unbounded (no tanh), since the latent prior is
    N(0, I). The image is halved while the shorter side stays >= 4, so it fits the final shape of
    :class:`~medmonai.networks.gan.DCGANGenerator` and of a progressive generator (for example 1280x1024 ends at
    5x4).

    Args:
        in_channels: image channels. Defaults to 1.
        image_shape: ``(H, W)`` of the input: a base (shorter side 4..16) times a power of two >= 2.
            Defaults to (64, 64).
        latent_size: dimension of ``z``. Defaults to 128.
        base_channels: channels of the first conv, doubled per halving. Defaults to 32.
        max_channels: cap on the channels. Defaults to 256.
        norm: ``"layer"``, ``"instance"`` or ``"none"`` after every conv but the first; no batch norm, so the
            code of an image does not depend on the rest of its batch. Defaults to ``"layer"``.

    Raises:
        ConfigError: a bad ``image_shape`` or ``norm``, or a size or channel count < 1.
    """

    def __init__(
        self,
        in_channels: int = 1,
        image_shape: Sequence[int] = (64, 64),
        latent_size: int = 128,
        base_channels: int = 32,
        max_channels: int = 256,
        norm: str = "layer",
    ) -> None:
        super().__init__()
        check_positive(
            in_channels=in_channels, latent_size=latent_size, base_channels=base_channels, max_channels=max_channels
        )
        norm_spec(norm)  # a bad name fails before any layer is built
        base, halvings = halve_to_base(image_shape, "GANEncoder", max_base_side=16)
        self.latent_size = latent_size
        chans = widths(halvings, base_channels, max_channels)
        blocks = [down_block(in_channels, chans[0], "none")]
        blocks += [down_block(c_in, c_out, norm) for c_in, c_out in zip(chans[:-1], chans[1:], strict=True)]
        self.body = nn.Sequential(*blocks, nn.Flatten())
        self.to_latent = nn.Linear(chans[-1] * base[0] * base[1], latent_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, in_channels, H, W)`` to ``(B, latent_size)``."""
        return self.to_latent(self.body(x))
