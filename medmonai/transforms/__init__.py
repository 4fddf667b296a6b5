"""Transforms in MONAI style: an array operation plus a thin dictionary wrapper."""

from medmonai.transforms.anomaly.array import ANOMALY_KINDS, SyntheticAnomalies
from medmonai.transforms.brain.array import ExtractBrain, N4BiasCorrection
from medmonai.transforms.brain.dictionary import ExtractBraind, N4BiasCorrectiond
from medmonai.transforms.brain.masks import add_brain_masks
from medmonai.transforms.brain.registration import BrainExtraction, extract_brain
from medmonai.transforms.channel.array import SelectChannel
from medmonai.transforms.channel.dictionary import SelectModalityd
from medmonai.transforms.intensity.array import FOREGROUND_METHODS, SimpleITKNormalize
from medmonai.transforms.intensity.dictionary import LandmarkStandardized, SimpleITKNormalized
from medmonai.transforms.intensity.landmarks import LandmarkStandardize, fit_landmarks
from medmonai.transforms.io.array import LoadImageChannels
from medmonai.transforms.io.dictionary import LoadGrayscaled, LoadImageChannelsd, LoadVolumed
from medmonai.transforms.mask.array import RandMaskEdge
from medmonai.transforms.mask.dictionary import RandMaskEdged
from medmonai.transforms.noise.array import CoarseNoise
from medmonai.transforms.patch.array import LesionGridPatch
from medmonai.transforms.patch.dictionary import LesionGridPatchd
from medmonai.transforms.spatial.array import FitToCanvas

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
    "LesionGridPatch",
    "LoadGrayscaled",
    "LoadImageChannels",
    "LoadImageChannelsd",
    "LoadVolumed",
    "LesionGridPatchd",
    "N4BiasCorrection",
    "N4BiasCorrectiond",
    "SelectChannel",
    "SelectModalityd",
    "SimpleITKNormalize",
    "SimpleITKNormalized",
    "add_brain_masks",
    "extract_brain",
]
