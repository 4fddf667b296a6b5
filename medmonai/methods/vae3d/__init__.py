"""A 3-D variational autoencoder: the classic reconstruction baseline."""

from medmonai.methods.vae3d.method import VAE3D

__all__ = ["VAE3D"]
