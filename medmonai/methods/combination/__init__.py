"""Several methods' maps on scales fitted to healthy voxels, combined into one."""

from medmonai.methods.combination.method import CombinedMap

__all__ = ["CombinedMap"]
