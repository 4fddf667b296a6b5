"""f-AnoGAN's encoder loss: pixel residual plus ``kappa`` times discriminator-feature residual, per image."""

from __future__ import annotations

import torch
from torch import nn

from medmonai.keys import Keys

__all__ = ["IziFLoss", "fanogan_residual"]


def fanogan_residual(
    recon: torch.Tensor,
    images: torch.Tensor,
    features_real: torch.Tensor,
    features_fake: torch.Tensor,
    kappa: float = 1.0,
) -> torch.Tensor:
    """``mean((x - G(E(x)))^2) + kappa * mean((f_D(x) - f_D(G(E(x))))^2)`` per image, ``(B,)``.

    Args:
        recon: ``G(E(x))``, shaped like ``images``.
        images: ``x``, ``(B, C, H, W)``.
        features_real: the discriminator's penultimate features of ``x``, ``(B, F)``.
        features_fake: those of ``G(E(x))``.
        kappa: weight of the feature residual. Defaults to 1 (the paper's).
    """
    residual = (images - recon).square().flatten(1).mean(1)
    features = (features_real - features_fake).square().flatten(1).mean(1)
    return residual + kappa * features


class IziFLoss(nn.Module):
    """The izi_f training loss (Schlegl et al. 2019): the batch mean of :func:`fanogan_residual`.

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
        return fanogan_residual(recon, target, features_real, features_fake, self.kappa).mean()
