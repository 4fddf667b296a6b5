"""Losses: the VAE's ELBO, the GAN losses and f-AnoGAN's encoder loss."""

from medmonai.losses.elbo import (
    RECONSTRUCTION_LOSSES,
    ELBOLoss,
    gaussian_kl,
    reconstruction_nll,
    reconstruction_per_element,
)
from medmonai.losses.fanogan import IziFLoss, fanogan_residual
from medmonai.losses.gan import GAN_LOSSES, discriminator_loss, generator_loss, gradient_penalty

__all__ = [
    "GAN_LOSSES",
    "RECONSTRUCTION_LOSSES",
    "ELBOLoss",
    "IziFLoss",
    "discriminator_loss",
    "fanogan_residual",
    "gaussian_kl",
    "generator_loss",
    "gradient_penalty",
    "reconstruction_nll",
    "reconstruction_per_element",
]
