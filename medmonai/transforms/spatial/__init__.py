"""Spatial transforms."""

from medmonai.transforms.spatial.array import FitToCanvas, resample_to_grid

__all__ = ["FitToCanvas", "resample_to_grid"]
