"""A slice-wise 2-D denoising autoencoder, run on 3-D patches."""

from medmonai.methods.ae2d.method import DenoisingAE2D

__all__ = ["DenoisingAE2D"]
