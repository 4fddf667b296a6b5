"""Intensity thresholding: the normalised voxel intensity is the anomaly score; nothing is trained."""

from __future__ import annotations

from torch import nn

from medmonai.methods.base import AnomalyMethod
from medmonai.scoring import IntensityScore

__all__ = ["IntensityThreshold"]


class IntensityThreshold(AnomalyMethod):
    """The voxel intensity itself, on the whole volume: bright lesions stand out with no model at all."""

    needs_weights = False
    input = "volume"
    prediction = None
    trainer = None

    def scorer(self, network: nn.Module | None) -> nn.Module:
        """:class:`medmonai.scoring.IntensityScore` (no network)."""
        return IntensityScore()
