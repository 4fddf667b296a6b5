"""Intensity transforms."""

from medmonai.transforms.intensity.array import FOREGROUND_METHODS, SimpleITKNormalize
from medmonai.transforms.intensity.dictionary import SimpleITKNormalized

__all__ = ["FOREGROUND_METHODS", "SimpleITKNormalize", "SimpleITKNormalized"]
