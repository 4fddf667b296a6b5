"""The benchmark's standard set of clinical variants of a volume, drawn from one seed: each trait alone, and all."""

from __future__ import annotations

import nibabel as nib
import numpy as np

from medmonai.data.synthetic.clinical.grids import Variant, checked_variant, voxel_axis_of, voxel_spacing
from medmonai.data.synthetic.clinical.scans import crop_fov, rescale_intensity, rotate_reorient, thick_slices

__all__ = ["CLINICAL_VARIANTS", "clinical_variants"]

CLINICAL_VARIANTS = ("thick", "rotated", "cropped", "rescaled", "clinical")
_STORED_CODES = ("LPS", "PIL", "ASL", "IRP")  # voxel orders the rotated variant is stored in (none is RAS)


def _settings(image: nib.Nifti1Image, rng: np.random.Generator) -> dict:
    """The seeded settings of the standard variants, for ``image``."""
    axes = rng.choice(3, size=2, replace=False)
    angles = np.zeros(3)
    angles[axes] = 15.0 * rng.choice([-1.0, 1.0], size=2)
    extent = np.asarray(image.shape) * voxel_spacing(image.affine)
    slope, intercept = [(1.0, 0.0), (0.5, -1024.0), (2.0, 0.0)][int(rng.integers(3))]
    return {
        "angles_deg": angles,
        "axcodes": str(rng.choice(_STORED_CODES)),
        "in_plane_mm": max(0.8, float(extent.max()) / 512.0),  # at most 512 voxels along an in-plane axis
        "axial_anchor": float(rng.choice([0.0, 1.0])),  # the axial window loses the volume's top or bottom
        "slope": slope,
        "intercept": intercept,
    }


def _crop(variant: Variant, settings: dict) -> Variant:
    """Keep 80% of the axial axis (one end) and 90% of the anterior-posterior one (centred)."""
    keep, anchor = np.ones(3), np.full(3, 0.5)
    axial, coronal = voxel_axis_of(variant.image.affine, "axial"), voxel_axis_of(variant.image.affine, "coronal")
    keep[axial], anchor[axial], keep[coronal] = 0.8, settings["axial_anchor"], 0.9
    return crop_fov(variant.image, keep, anchor=anchor, label=variant.label, mask=variant.mask)


def _thick(variant: Variant, settings: dict) -> Variant:
    """6 mm axial slices at the settings' in-plane spacing."""
    image, label, mask = variant
    return thick_slices(image, "axial", 6.0, settings["in_plane_mm"], label=label, mask=mask)


def _rotated(variant: Variant, settings: dict) -> Variant:
    image, label, mask = variant
    return rotate_reorient(image, settings["angles_deg"], settings["axcodes"], label=label, mask=mask)


def _rescaled(variant: Variant, settings: dict) -> Variant:
    """Real values on 0-4095, stored as int16 with the settings' slope and intercept."""
    image, label, mask = variant
    slope, intercept = settings["slope"], settings["intercept"]
    return rescale_intensity(image, slope, intercept, "int16", (0.0, 4095.0), label=label, mask=mask)


def clinical_variants(
    image: nib.Nifti1Image,
    label: nib.Nifti1Image | None = None,
    mask: nib.Nifti1Image | None = None,
    seed: int = 0,
) -> dict[str, Variant]:
    """The standard clinical variants of a volume, used by the benchmark.

    - ``"thick"``: 6 mm axial slices, in-plane spacing 0.8 mm (coarser for fields of view over 41 cm);
    - ``"rotated"``: the grid turned by 15 degrees about two of the world axes (random signs), stored in a
      non-RAS voxel order (one of ``LPS``, ``PIL``, ``ASL``, ``IRP``);
    - ``"cropped"``: 80% of the axial axis kept (the top or the bottom lost) and the central 90% of the
      anterior-posterior axis;
    - ``"rescaled"``: real values mapped onto 0-4095 and stored as int16 with a header scaling (slope 1, 0.5 or 2);
    - ``"clinical"``: all of them: rotated, then thick axial slices of the turned grid, then cropped, then stored.

    Args:
        image: a 3-D image ``(X, Y, Z)``.
        label: a label map on ``image``'s grid. Defaults to None.
        mask: a brain mask on ``image``'s grid. Defaults to None.
        seed: picks the rotation axes and signs, the stored voxel order, the lost end and the scaling.
            Defaults to 0.

    Returns:
        A dict from each name of :data:`CLINICAL_VARIANTS` to its :class:`Variant`.

    Raises:
        TypeError: when an input is not a nibabel image.
        ValueError: when an input is not 3-D or a label or mask is off the image's grid.
    """
    base = checked_variant(image, label, mask)
    settings = _settings(base.image, np.random.default_rng(seed))
    return {
        "thick": _thick(base, settings),
        "rotated": _rotated(base, settings),
        "cropped": _crop(base, settings),
        "rescaled": _rescaled(base, settings),
        "clinical": _rescaled(_crop(_thick(_rotated(base, settings), settings), settings), settings),
    }
