"""Losses."""

from medmonai.losses.elbo import RECONSTRUCTION_LOSSES, ELBOLoss, gaussian_kl, reconstruction_nll

__all__ = ["RECONSTRUCTION_LOSSES", "ELBOLoss", "gaussian_kl", "reconstruction_nll"]
