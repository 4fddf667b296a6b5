"""Losses: the VAE's ELBO and the GAN losses."""

from medmonai.losses.elbo import (
    RECONSTRUCTION_LOSSES,
    ELBOLoss,
    gaussian_kl,
    reconstruction_nll,
    reconstruction_per_element,
)
from medmonai.losses.gan import GAN_LOSSES, discriminator_loss, generator_loss, gradient_penalty

__all__ = [
    "GAN_LOSSES",
    "RECONSTRUCTION_LOSSES",
    "ELBOLoss",
    "discriminator_loss",
    "gaussian_kl",
    "generator_loss",
    "gradient_penalty",
    "reconstruction_nll",
    "reconstruction_per_element",
]
