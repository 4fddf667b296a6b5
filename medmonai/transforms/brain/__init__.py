"""Brain extraction by a network or template registration (masks for datalists, cached), and N4 bias correction."""

from medmonai.transforms.brain.array import ExtractBrain, N4BiasCorrection
from medmonai.transforms.brain.dictionary import ExtractBraind, N4BiasCorrectiond
from medmonai.transforms.brain.masks import add_brain_masks
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
    "add_brain_masks",
    "extract_brain",
    "image_from_array",
]
