"""Losses."""

from medmonai.losses.elbo import (
    RECONSTRUCTION_LOSSES,
    ELBOLoss,
    gaussian_kl,
    reconstruction_nll,
    reconstruction_per_element,
)

__all__ = ["RECONSTRUCTION_LOSSES", "ELBOLoss", "gaussian_kl", "reconstruction_nll", "reconstruction_per_element"]
