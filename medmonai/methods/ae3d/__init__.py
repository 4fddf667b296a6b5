"""A 3-D denoising autoencoder: its reconstruction error of a healthy-looking patch is the map."""

from medmonai.methods.ae3d.method import DenoisingAE3D

__all__ = ["DenoisingAE3D"]
