"""2-D convolutional autoencoders of reference 004 (conv, max-pool, upsample, sigmoid) and a bottlenecked variant."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from medmonai.errors import ConfigError
from medmonai.keys import Keys

__all__ = ["ReferenceConvAE", "BottleneckConvAE"]


def _conv(c_in: int, c_out: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(c_in, c_out, 3, padding=1), nn.ReLU(inplace=True))


def _encoder(in_channels: int, c1: int, c2: int) -> list[nn.Module]:
    """Conv, max-pool, conv, max-pool: ``(B, C, H, W)`` to ``(B, c2, H/4, W/4)``."""
    return [_conv(in_channels, c1), nn.MaxPool2d(2), _conv(c1, c2), nn.MaxPool2d(2)]


def _decoder(c2: int, c1: int, out_channels: int) -> list[nn.Module]:
    """Upsample, conv, upsample, conv, sigmoid: ``(B, c2, H/4, W/4)`` to ``(B, C, H, W)`` in [0, 1]."""
    return [
        nn.Upsample(scale_factor=2, mode="nearest"),
        _conv(c2, c1),
        nn.Upsample(scale_factor=2, mode="nearest"),
        nn.Conv2d(c1, out_channels, 3, padding=1),
        nn.Sigmoid(),
    ]


class ReferenceConvAE(nn.Module):
    """Reference 004's autoencoder: two conv + max-pool stages, two conv + upsample stages, sigmoid output.

    For a ``(B, 1, 28, 28)`` input the code is ``16 x 7 x 7`` = 784 values, as many as the input: there is no
    bottleneck, so it can learn to reconstruct anomalies as well as normal images. It is offered
    for fidelity to the reference; :class:`BottleneckConvAE` is the default for results.

    Args:
        channels: channels of the two encoder stages. Defaults to ``(32, 16)``.
        in_channels: image channels. Defaults to 1.
    """

    def __init__(self, channels: Sequence[int] = (32, 16), in_channels: int = 1) -> None:
        super().__init__()
        c1, c2 = channels
        self.encoder = nn.Sequential(*_encoder(in_channels, c1, c2))
        self.decoder = nn.Sequential(_conv(c2, c2), *_decoder(c2, c1, in_channels))

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """``(B, C, H, W)`` images in [0, 1] (H, W divisible by 4) to ``{"recon": (B, C, H, W)}`` in [0, 1]."""
        return {Keys.RECON: self.decoder(self.encoder(x))}


class BottleneckConvAE(nn.Module):
    """The reference's conv/pool encoder and upsample decoder around a small dense code (``latent_size`` values).

    Args:
        image_size: input height and width, divisible by 4. Defaults to 28.
        latent_size: dimension of the dense code. Defaults to 8.
        channels: channels of the two encoder stages. Defaults to ``(32, 16)``.
        in_channels: image channels. Defaults to 1.

    Raises:
        ConfigError: ``image_size`` not divisible by 4 or ``latent_size`` < 1.
    """

    def __init__(
        self, image_size: int = 28, latent_size: int = 8, channels: Sequence[int] = (32, 16), in_channels: int = 1
    ) -> None:
        super().__init__()
        if image_size % 4 or latent_size < 1:
            raise ConfigError(
                f"image_size must be divisible by 4 and latent_size >= 1, got {image_size} and {latent_size}"
            )
        c1, c2 = channels
        side = image_size // 4
        self.encoder = nn.Sequential(
            *_encoder(in_channels, c1, c2), nn.Flatten(), nn.Linear(c2 * side * side, latent_size)
        )
        self.decoder = nn.Sequential(
            nn.Linear(latent_size, c2 * side * side),
            nn.ReLU(inplace=True),
            nn.Unflatten(1, (c2, side, side)),
            *_decoder(c2, c1, in_channels),
        )

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """``(B, C, S, S)`` images in [0, 1] to ``{"recon": (B, C, S, S)}`` in [0, 1] and ``{"z": (B, latent)}``."""
        z = self.encoder(x)
        return {Keys.RECON: self.decoder(z), Keys.Z: z}
