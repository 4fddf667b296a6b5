"""Transforms in MONAI style: an array operation plus a thin dictionary wrapper."""

from medmonai.transforms.channel import SelectChannel, SelectModalityd
from medmonai.transforms.intensity import FOREGROUND_METHODS, SimpleITKNormalize, SimpleITKNormalized
from medmonai.transforms.io import LoadGrayscaled, LoadVolumed
from medmonai.transforms.noise import CoarseNoise
from medmonai.transforms.patch import LesionGridPatch, LesionGridPatchd
from medmonai.transforms.spatial import FitToCanvas, FitToCanvasd

__all__ = [
    "CoarseNoise",
    "FOREGROUND_METHODS",
    "FitToCanvas",
    "FitToCanvasd",
    "LesionGridPatch",
    "LoadGrayscaled",
    "LoadVolumed",
    "LesionGridPatchd",
    "SelectChannel",
    "SelectModalityd",
    "SimpleITKNormalize",
    "SimpleITKNormalized",
]
