"""Intensity thresholding: the baseline every learned map must beat."""

from medmonai.methods.intensity.method import IntensityThreshold

__all__ = ["IntensityThreshold"]
