"""Patch transforms."""

from medmonai.transforms.patch.array import LesionGridPatch
from medmonai.transforms.patch.dictionary import LesionGridPatchd

__all__ = ["LesionGridPatch", "LesionGridPatchd"]
