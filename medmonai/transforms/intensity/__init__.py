"""Intensity transforms."""

from medmonai.transforms.intensity.array import FOREGROUND_METHODS, SimpleITKNormalize
from medmonai.transforms.intensity.dictionary import LandmarkStandardized, SimpleITKNormalized
from medmonai.transforms.intensity.landmarks import LANDMARK_PERCENTILES, LandmarkStandardize, fit_landmarks

__all__ = [
    "FOREGROUND_METHODS",
    "LANDMARK_PERCENTILES",
    "LandmarkStandardize",
    "LandmarkStandardized",
    "SimpleITKNormalize",
    "SimpleITKNormalized",
    "fit_landmarks",
]
