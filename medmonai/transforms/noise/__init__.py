"""Synthetic corruptions: coarse noise for denoising autoencoders."""

from medmonai.transforms.noise.array import CoarseNoise

__all__ = ["CoarseNoise"]
