"""Per-image anomaly scores of reconstruction models: the mean reconstruction error, and a VAE's ELBO terms."""

from __future__ import annotations

from collections.abc import Mapping

import torch

from medmonai.keys import Keys
from medmonai.losses import gaussian_kl, reconstruction_nll, reconstruction_per_element

__all__ = ["elbo_terms", "error_map", "reconstruction_error"]


def reconstruction_error(recon: torch.Tensor, target: torch.Tensor, kind: str = "bce") -> torch.Tensor:
    """Each image's mean per-element reconstruction error, ``(B,)``: BCE by default, as Keras reports it.

    Args:
        recon: ``(B, C, *spatial)`` reconstruction.
        target: the images, same shape.
        kind: ``"bce"``, ``"mse"`` or ``"l1"``. Defaults to ``"bce"``.
    """
    return reconstruction_nll(recon, target, kind) / target[0].numel()


def error_map(recon: torch.Tensor, target: torch.Tensor, kind: str = "bce") -> torch.Tensor:
    """Each image's pixel-wise anomaly map, ``(B, *spatial)``: the reconstruction error, averaged over channels.

    Its mean over the pixels is :func:`reconstruction_error`.

    Args:
        recon: ``(B, C, *spatial)`` reconstruction.
        target: the images, same shape.
        kind: ``"bce"``, ``"mse"`` or ``"l1"``. Defaults to ``"bce"``.
    """
    return reconstruction_per_element(recon, target, kind).mean(1)


def elbo_terms(
    network: torch.nn.Module,
    output: Mapping[str, torch.Tensor],
    target: torch.Tensor,
    kind: str = "bce",
    n_samples: int = 1,
) -> tuple[torch.Tensor, torch.Tensor]:
    """A VAE's per-image ``(recon_nll, kl)``; their sum is the anomaly score (the negative ELBO, beta = 1).

    ``recon_nll`` is the mean over ``n_samples`` posterior draws: the draw already decoded in ``output`` and
    ``n_samples - 1`` more, drawn with ``network.reparameterize`` and decoded with ``network.decode``.

    Args:
        network: a :class:`medmonai.networks.VariationalAutoencoder`.
        output: its output for ``target`` (``recon``, ``mu``, ``logvar``), decoded from a posterior sample.
        target: the images.
        kind: the reconstruction term, ``"bce"``, ``"mse"`` or ``"l1"``. Defaults to ``"bce"``.
        n_samples: posterior draws L >= 1. Defaults to 1.

    Returns:
        ``(recon_nll, kl)``, each ``(B,)``, in nats for ``"bce"``.
    """
    nll = reconstruction_nll(output[Keys.RECON], target, kind)
    for _ in range(n_samples - 1):  # further draws from the same posterior, decoded only
        recon = network.decode(network.reparameterize(output[Keys.MU], output[Keys.LOGVAR]))
        nll = nll + reconstruction_nll(recon, target, kind)
    return nll / n_samples, gaussian_kl(output[Keys.MU], output[Keys.LOGVAR])
