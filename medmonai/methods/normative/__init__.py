"""A method's map, or the image, as a voxel-wise z-score against healthy brains at the same place."""

from medmonai.methods.normative.method import NormativeMap

__all__ = ["NormativeMap"]
