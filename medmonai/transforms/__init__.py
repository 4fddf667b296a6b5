"""Transforms in MONAI style: an array operation plus a thin dictionary wrapper."""

from medmonai.transforms.spatial import FitToCanvas, FitToCanvasd

__all__ = ["FitToCanvas", "FitToCanvasd"]
