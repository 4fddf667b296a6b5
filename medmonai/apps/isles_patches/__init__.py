"""ISLES 2015 cases as labelled 2-D/3-D patch datalists, split by case (the ``isles_dwi_vae`` bundle)."""

from medmonai.apps.isles_patches.data import isles_patch_splits, patch_counts

__all__ = ["isles_patch_splits", "patch_counts"]
