"""Evidence lower bound (ELBO) for VAEs: reconstruction negative log-likelihood plus beta-weighted KL."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from medmonai.errors import ConfigError

__all__ = ["RECONSTRUCTION_LOSSES", "reconstruction_nll", "reconstruction_per_element", "gaussian_kl", "ELBOLoss"]

RECONSTRUCTION_LOSSES = ("bce", "mse", "l1")


def reconstruction_per_element(recon: torch.Tensor, target: torch.Tensor, kind: str = "bce") -> torch.Tensor:
    """The reconstruction term of every element, the shape of ``target``.

    Args:
        recon: ``(B, C, *spatial)`` reconstruction; in [0, 1] for ``"bce"``.
        target: tensor of the same shape; in [0, 1] for ``"bce"``.
        kind: ``"bce"`` (Bernoulli NLL in nats), ``"mse"`` (squared error) or ``"l1"``. Defaults to ``"bce"``.

    Raises:
        ConfigError: ``kind`` is unknown.
    """
    if kind == "bce":
        return F.binary_cross_entropy(recon, target, reduction="none")
    if kind == "mse":
        return F.mse_loss(recon, target, reduction="none")
    if kind == "l1":
        return F.l1_loss(recon, target, reduction="none")
    raise ConfigError(f"reconstruction must be one of {RECONSTRUCTION_LOSSES}, got {kind!r}")


def reconstruction_nll(recon: torch.Tensor, target: torch.Tensor, kind: str = "bce") -> torch.Tensor:
    """Per-sample reconstruction term, summed over every non-batch dim (see :func:`reconstruction_per_element`).

    Returns:
        ``(B,)`` tensor.
    """
    return reconstruction_per_element(recon, target, kind).flatten(1).sum(1)


def gaussian_kl(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """Per-sample KL( N(mu, exp(logvar)) || N(0, I) ) in nats, summed over latent dims.

    Args:
        mu: ``(B, Z)`` posterior means (extra dims are summed too).
        logvar: log-variances, same shape as ``mu``.

    Returns:
        ``(B,)`` tensor, >= 0.
    """
    return (-0.5 * (1.0 + logvar - mu.pow(2) - logvar.exp())).flatten(1).sum(1)


class ELBOLoss(nn.Module):
    """Negative ELBO averaged over the batch: ``mean_b[ recon_nll_b + beta * KL_b ]``.

    ``output_keys`` declares which entries of a VAE's output it takes after the target (see
    :class:`medmonai.engines.OutputLoss`): ``loss(recon, target, mu, logvar)``.

    Args:
        reconstruction: ``"bce"``, ``"mse"`` or ``"l1"``. Defaults to ``"bce"``.
        beta: weight of the KL term (beta-VAE); 1 gives the ELBO. Defaults to 1.0.

    Raises:
        ConfigError: unknown ``reconstruction`` or negative ``beta``.
    """

    output_keys = ("recon", "mu", "logvar")

    def __init__(self, reconstruction: str = "bce", beta: float = 1.0) -> None:
        super().__init__()
        if reconstruction not in RECONSTRUCTION_LOSSES:
            raise ConfigError(f"reconstruction must be one of {RECONSTRUCTION_LOSSES}, got {reconstruction!r}")
        if beta < 0:
            raise ConfigError(f"beta must be >= 0, got {beta}")
        self.reconstruction = reconstruction
        self.beta = float(beta)

    def forward(
        self, recon: torch.Tensor, target: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor
    ) -> torch.Tensor:
        """Return the scalar loss; see the class docstring."""
        nll = reconstruction_nll(recon, target, self.reconstruction)
        return (nll + self.beta * gaussian_kl(mu, logvar)).mean()
