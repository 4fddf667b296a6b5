"""Fully convolutional DCGAN-style VAE (reference 001): conv encoder, mean and log-variance from two conv layers."""

from __future__ import annotations

import math

import torch
from torch import nn

from medmonai.errors import ConfigError
from medmonai.networks.variational import VariationalAutoencoder

__all__ = ["DCGANVAE"]


def _down(c_in: int, c_out: int, norm: bool = True) -> nn.Sequential:
    layers = [nn.Conv2d(c_in, c_out, 4, stride=2, padding=1, bias=not norm)]
    return nn.Sequential(*layers, *([nn.BatchNorm2d(c_out)] if norm else []), nn.LeakyReLU(0.2, inplace=True))


def _up(c_in: int, c_out: int) -> nn.Sequential:
    return nn.Sequential(
        nn.ConvTranspose2d(c_in, c_out, 4, stride=2, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(True)
    )


class DCGANVAE(VariationalAutoencoder):
    """A VAE without linear layers, for square images (the OCT reference's network at 128x128 with latent 300).

    Strided conv blocks halve the image down to 4x4, two 4x4 convs give ``mu`` and ``logvar``, a 4x4 transposed
    conv maps z back to 4x4, and transposed conv blocks double it up to the input size, with a sigmoid output.
    For 128x128 images that is 5 + 5 blocks, as in the reference.

    Returns ``{"recon", "mu", "logvar", "z"}`` (``mu``, ``logvar``, ``z`` flattened to ``(B, latent)``), samples
    ``z`` in training (or with ``sample=True``) and decodes the mean otherwise, like :class:`medmonai.networks.VAE`.

    Args:
        image_size: input height and width, a power of two >= 8. Defaults to 128.
        latent_size: dimension of z. Defaults to 300.
        base_channels: channels of the first block, doubled per block up to 8x. Defaults to 32.
        in_channels: image channels. Defaults to 1.

    Raises:
        ConfigError: ``image_size`` is not a power of two >= 8, or ``latent_size`` < 1.
    """

    def __init__(self, image_size: int = 128, latent_size: int = 300, base_channels: int = 32, in_channels: int = 1):
        super().__init__()
        blocks = int(round(math.log2(image_size / 4))) if image_size > 0 else 0
        if image_size < 8 or 4 * 2**blocks != image_size or latent_size < 1:
            raise ConfigError(
                f"image_size must be a power of two >= 8 and latent_size >= 1, got {image_size} and {latent_size}"
            )
        widths = [base_channels * min(2**i, 8) for i in range(blocks)]
        self.latent_size = latent_size
        pairs = list(zip(widths[:-1], widths[1:], strict=True))
        self.encoder = nn.Sequential(_down(in_channels, widths[0], norm=False), *(_down(a, b) for a, b in pairs))
        self.mu = nn.Conv2d(widths[-1], latent_size, 4)
        self.logvar = nn.Conv2d(widths[-1], latent_size, 4)
        up = [_up(b, a) for a, b in reversed(pairs)]
        self.decoder = nn.Sequential(
            nn.ConvTranspose2d(latent_size, widths[-1], 4, bias=False),
            nn.BatchNorm2d(widths[-1]),
            nn.ReLU(True),
            *up,
            nn.ConvTranspose2d(widths[0], in_channels, 4, stride=2, padding=1),
            nn.Sigmoid(),
        )

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(B, C, S, S)`` images to ``(mu, logvar)``, each ``(B, latent)``."""
        h = self.encoder(x)
        return self.mu(h).flatten(1), self.logvar(h).flatten(1)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """``(B, latent)`` codes to ``(B, C, S, S)`` images in [0, 1]."""
        return self.decoder(z[:, :, None, None])
