"""Spatial transforms."""

from medmonai.transforms.spatial.array import FitToCanvas
from medmonai.transforms.spatial.dictionary import FitToCanvasd

__all__ = ["FitToCanvas", "FitToCanvasd"]
