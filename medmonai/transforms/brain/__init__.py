"""Brain extraction by template registration, and N4 bias-field correction."""

from medmonai.transforms.brain.array import ExtractBrain, N4BiasCorrection
from medmonai.transforms.brain.dictionary import ExtractBraind, N4BiasCorrectiond
from medmonai.transforms.brain.registration import (
    BrainExtraction,
    RegistrationSettings,
    extract_brain,
    image_from_array,
)

__all__ = [
    "BrainExtraction",
    "ExtractBrain",
    "ExtractBraind",
    "N4BiasCorrection",
    "N4BiasCorrectiond",
    "RegistrationSettings",
    "extract_brain",
    "image_from_array",
]
