"""The MNI152 template's T1, brain mask and tissue probability maps: the anatomy every phantom starts from.

All four volumes ship inside nilearn (``load_mni152_template``, ``load_mni152_gm_template``,
``load_mni152_wm_template``, ``load_mni152_brain_mask``), so nothing is downloaded. Cerebrospinal fluid has no map
of its own: it is the brain mask minus grey and white matter, clipped at 0 (sulcal and ventricular CSF). Grey
matter deeper than ~24 mm below the brain surface (basal ganglia, thalami, insula, cingulate) is split off as deep
grey matter, which images between cortical GM and WM on most contrasts.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from scipy import ndimage

from medmonai.data.synthetic.template import load_template, load_tissue_maps

__all__ = ["TISSUE_LABELS", "Tissues", "load_tissues"]

TISSUE_LABELS = {0: "background", 1: "csf", 2: "gm", 3: "wm", 4: "deep_gm"}
_DEEP_MM = (20.0, 28.0)  # depth below the brain surface over which grey matter turns from cortical to deep


@dataclass(frozen=True)
class Tissues:
    """The template anatomy on one voxel grid; arrays are read-only (shared between callers).

    Attributes:
        t1: the MNI152 T1, float32 ``(X, Y, Z)`` scaled to [0, 1] (already brain-extracted).
        brain: the {0, 1} float32 brain mask.
        probabilities: float32 ``(4, X, Y, Z)`` CSF, cortical GM, WM and deep GM probabilities
            (``TISSUE_LABELS`` 1-4), each in [0, 1], summing to the brain mask.
        affine: the 4x4 RAS voxel-to-world affine.
    """

    t1: np.ndarray
    brain: np.ndarray
    probabilities: np.ndarray
    affine: np.ndarray

    @property
    def shape(self) -> tuple[int, int, int]:
        """The voxel grid's size."""
        return tuple(int(s) for s in self.t1.shape)

    @property
    def voxel_mm(self) -> float:
        """The (isotropic) voxel size in mm."""
        return float(np.linalg.norm(self.affine[:3, 0]))


@lru_cache(maxsize=2)
def load_tissues(resolution: int = 2) -> Tissues:
    """Load the template T1, brain mask and CSF/GM/WM/deep-GM probabilities (cached per resolution).

    Args:
        resolution: voxel size in mm, 1 (197x233x189) or 2 (99x117x95). Defaults to 2.

    Returns:
        The read-only :class:`Tissues`.

    Raises:
        ConfigError: nilearn is not installed, or ``resolution`` is not 1 or 2.
    """
    t1, brain, affine = load_template(resolution)
    gm, wm = load_tissue_maps(resolution)
    gm, wm = gm * brain, wm * brain
    csf = np.clip(brain - gm - wm, 0.0, 1.0)
    depth = ndimage.distance_transform_edt(brain > 0) * float(np.linalg.norm(affine[:3, 0]))
    deep = np.clip((depth - _DEEP_MM[0]) / (_DEEP_MM[1] - _DEEP_MM[0]), 0.0, 1.0)
    probabilities = np.stack([csf, gm * (1.0 - deep), wm, gm * deep]).astype(np.float32)
    arrays = (t1, brain, probabilities, np.asarray(affine, np.float64))
    for array in arrays:
        array.setflags(write=False)
    return Tissues(*arrays)
