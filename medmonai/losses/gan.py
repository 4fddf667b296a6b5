"""GAN losses for discriminators that return raw ``(B,)`` scores: WGAN-GP (with PGGAN's drift) and logistic."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from medmonai.errors import ConfigError

__all__ = ["GAN_LOSSES", "discriminator_loss", "generator_loss", "gradient_penalty"]

GAN_LOSSES = ("wgan_gp", "non_saturating")


def _check(kind: str) -> None:
    if kind not in GAN_LOSSES:
        raise ConfigError(f"gan loss must be one of {GAN_LOSSES}, got {kind!r}")


def discriminator_loss(
    real_scores: torch.Tensor, fake_scores: torch.Tensor, kind: str = "wgan_gp", drift_weight: float = 1e-3
) -> torch.Tensor:
    """The discriminator's loss on one batch (without the gradient penalty, see :func:`gradient_penalty`).

    Args:
        real_scores: ``(B,)`` raw scores of real images.
        fake_scores: ``(B,)`` raw scores of generated images.
        kind: ``"wgan_gp"``: ``E[D(fake)] - E[D(real)] + drift * E[D(real)^2]`` (the drift keeps the critic's
            output near 0, as in PGGAN); ``"non_saturating"``: ``softplus(D(fake)) + softplus(-D(real))``, the
            logistic loss. Defaults to ``"wgan_gp"``.
        drift_weight: weight of the drift term (``wgan_gp`` only). Defaults to 1e-3.

    Raises:
        ConfigError: unknown ``kind``.
    """
    _check(kind)
    real_scores, fake_scores = real_scores.float(), fake_scores.float()
    if kind == "wgan_gp":
        return fake_scores.mean() - real_scores.mean() + drift_weight * real_scores.square().mean()
    return F.softplus(fake_scores).mean() + F.softplus(-real_scores).mean()


def generator_loss(fake_scores: torch.Tensor, kind: str = "wgan_gp") -> torch.Tensor:
    """The generator's loss: ``-E[D(fake)]`` (``wgan_gp``) or ``softplus(-D(fake))`` (``non_saturating``).

    Raises:
        ConfigError: unknown ``kind``.
    """
    _check(kind)
    fake_scores = fake_scores.float()
    return -fake_scores.mean() if kind == "wgan_gp" else F.softplus(-fake_scores).mean()


def gradient_penalty(discriminator: nn.Module, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    """WGAN-GP's penalty ``E[(||grad D(x_hat)||_2 - 1)^2]`` on random interpolates of real and generated images.

    Computed in float32 (outside autocast): the penalty's second-order gradient is fragile in half precision.

    Args:
        discriminator: returns ``(B,)`` scores.
        real: ``(B, C, H, W)`` real images.
        fake: generated images of the same shape (detached).
    """
    real, fake = real.float(), fake.float()
    eps = torch.rand(real.shape[0], *([1] * (real.dim() - 1)), device=real.device, dtype=real.dtype)
    mixed = (eps * real + (1.0 - eps) * fake).requires_grad_(True)
    with torch.autocast(device_type=real.device.type, enabled=False):
        scores = discriminator(mixed)
    (grad,) = torch.autograd.grad(scores.sum(), mixed, create_graph=True)
    return (grad.flatten(1).norm(2, dim=1) - 1.0).square().mean()
