"""Spatial transforms."""

from medmonai.transforms.spatial.array import FitToCanvas

__all__ = ["FitToCanvas"]
