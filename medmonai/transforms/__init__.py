"""Transforms in MONAI style: an array operation plus a thin dictionary wrapper."""

from medmonai.transforms.anomaly import ANOMALY_KINDS, SyntheticAnomalies
from medmonai.transforms.brain import (
    BrainExtraction,
    ExtractBrain,
    ExtractBraind,
    N4BiasCorrection,
    N4BiasCorrectiond,
    extract_brain,
)
from medmonai.transforms.channel import SelectChannel, SelectModalityd
from medmonai.transforms.intensity import (
    FOREGROUND_METHODS,
    LandmarkStandardize,
    LandmarkStandardized,
    SimpleITKNormalize,
    SimpleITKNormalized,
    fit_landmarks,
)
from medmonai.transforms.io import LoadGrayscaled, LoadVolumed
from medmonai.transforms.mask import RandMaskEdge, RandMaskEdged
from medmonai.transforms.noise import CoarseNoise
from medmonai.transforms.patch import LesionGridPatch, LesionGridPatchd
from medmonai.transforms.spatial import FitToCanvas, FitToCanvasd

__all__ = [
    "LandmarkStandardize",
    "LandmarkStandardized",
    "fit_landmarks",
    "RandMaskEdge",
    "RandMaskEdged",
    "ANOMALY_KINDS",
    "SyntheticAnomalies",
    "BrainExtraction",
    "CoarseNoise",
    "ExtractBrain",
    "ExtractBraind",
    "FOREGROUND_METHODS",
    "FitToCanvas",
    "FitToCanvasd",
    "LesionGridPatch",
    "LoadGrayscaled",
    "LoadVolumed",
    "LesionGridPatchd",
    "N4BiasCorrection",
    "N4BiasCorrectiond",
    "SelectChannel",
    "SelectModalityd",
    "SimpleITKNormalize",
    "SimpleITKNormalized",
    "extract_brain",
]
