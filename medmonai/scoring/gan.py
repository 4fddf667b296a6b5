"""Anomaly scores of a trained GAN: the discriminator's ``-D(x)`` and f-AnoGAN's residual score and pixel map."""

from __future__ import annotations

import torch
from torch import nn

from medmonai.keys import Keys
from medmonai.losses.fanogan import fanogan_residual
from medmonai.networks.gan.fanogan import grouped_discriminator

__all__ = ["discriminator_anomaly_scores", "fanogan_maps", "fanogan_scores"]


def discriminator_anomaly_scores(
    discriminator: nn.Module, images: torch.Tensor, reference: torch.Tensor | None = None
) -> torch.Tensor:
    """``-D(x)`` per image, ``(B,)``: the less real the discriminator finds an image, the more anomalous.

    Args:
        discriminator: the trained discriminator.
        images: ``(B, C, H, W)``.
        reference: healthy images each image is grouped with (see :mod:`medmonai.networks.gan.fanogan`).
            Defaults to None (no grouping).
    """
    return -grouped_discriminator(discriminator, images, reference, "forward").float()


def fanogan_scores(output: dict[str, torch.Tensor], images: torch.Tensor, kappa: float = 1.0) -> torch.Tensor:
    """f-AnoGAN's per-image score ``(B,)``: pixel MSE plus ``kappa`` times feature MSE.

    Args:
        output: :class:`medmonai.networks.gan.IziFNetwork`'s output for ``images``.
        images: ``(B, C, H, W)``.
        kappa: weight of the feature residual. Defaults to 1.
    """
    return fanogan_residual(output[Keys.RECON], images, output["features_real"], output["features_fake"], kappa)


def fanogan_maps(output: dict[str, torch.Tensor], images: torch.Tensor) -> torch.Tensor:
    """f-AnoGAN's pixel map ``(B, H, W)``: ``|x - G(E(x))|`` averaged over channels."""
    return (images - output[Keys.RECON]).abs().mean(1)
