"""Clinical scans of a research volume, one acquisition trait at a time.

Thick slices, a voxel grid turned against the head, a partial field of view, integers with a header scaling.

Every function takes a 3-D nibabel image, and optionally a label map and a brain mask on the same grid, and returns
a :class:`~medmonai.data.synthetic.clinical.Variant` whose affines keep world positions.
"""

from __future__ import annotations

from collections.abc import Sequence

import nibabel as nib
import numpy as np
from nibabel.orientations import axcodes2ornt, io_orientation, ornt_transform
from scipy.spatial.transform import Rotation

from medmonai.data.synthetic.clinical.grids import (
    Variant,
    checked_variant,
    regrid,
    resample_variant,
    voxel_axis_of,
    voxel_spacing,
)

__all__ = ["crop_fov", "read_back", "rescale_intensity", "rotate_reorient", "thick_slices"]


def _check_mm(name: str, value: float, high: float) -> float:
    if not np.isfinite(value) or not 0.0 < value <= high:
        raise ValueError(f"`{name}` must be in (0, {high:g}], got {value}")
    return float(value)


def thick_slices(
    image: nib.Nifti1Image,
    axis: int | str = "axial",
    thickness_mm: float = 6.0,
    in_plane_mm: float | None = None,
    *,
    label: nib.Nifti1Image | None = None,
    mask: nib.Nifti1Image | None = None,
) -> Variant:
    """Reslice to thick slices along one axis, as a 2-D clinical acquisition would.

    Each new voxel averages the old ones under its footprint (a box slice profile along ``axis``, and a box of the
    new in-plane voxel where that is larger than the old one), then is interpolated linearly at the new centres.
    The new grid keeps the orientation and centre of the old one and covers the same extent.

    Args:
        image: a 3-D image ``(X, Y, Z)``, any dtype.
        axis: the voxel axis (0, 1, 2) to thicken, or ``"axial"``, ``"coronal"`` or ``"sagittal"`` for the voxel
            axis closest to that plane's normal. Defaults to ``"axial"``.
        thickness_mm: the slice thickness (and spacing: no gap), in (0, 20] mm. Defaults to 6.0.
        in_plane_mm: the spacing of the two other axes, in (0, 20] mm; None keeps theirs. Defaults to None.
        label: a label map on ``image``'s grid, resliced by majority. Defaults to None.
        mask: a brain mask on ``image``'s grid, resliced by majority. Defaults to None.

    Returns:
        A :class:`Variant`: the float32 image, and the label and mask (their own dtype) when given.

    Raises:
        TypeError: when an input is not a nibabel image.
        ValueError: when an input is not 3-D, a label or mask is off the image's grid, ``axis`` is unknown, or a
            spacing is out of range.
    """
    variant = checked_variant(image, label, mask)
    old = voxel_spacing(variant.image.affine)
    new = old.copy() if in_plane_mm is None else np.full(3, _check_mm("in_plane_mm", in_plane_mm, 20.0))
    voxel_axis = voxel_axis_of(variant.image.affine, axis)
    new[voxel_axis] = _check_mm("thickness_mm", thickness_mm, 20.0)
    grid = regrid(variant.image.shape, variant.image.affine, new)
    return resample_variant(variant, grid, new / old, mode="nearest")


def _head_corners(image: nib.Nifti1Image) -> np.ndarray:
    """World corners ``(8, 3)`` of the box around the head (voxels above 5% of the robust range), or the volume."""
    data = np.asarray(image.dataobj, dtype=np.float32)
    low, high = np.percentile(data, [1, 99.5])
    inside = data > low + 0.05 * (high - low)
    lower, upper = np.zeros(3), np.asarray(data.shape, dtype=float) - 1
    if high > low and inside.any():
        for axis in range(3):
            hits = np.flatnonzero(inside.any(axis=tuple(a for a in range(3) if a != axis)))
            lower[axis], upper[axis] = hits[0], hits[-1]
    lower, upper = lower - 2.5, upper + 2.5  # a margin of two voxels beyond the voxel edges
    corners = np.array([[(lower, upper)[bit][axis] for axis, bit in enumerate(bits)] for bits in np.ndindex(2, 2, 2)])
    return nib.affines.apply_affine(image.affine, corners)


def _reordered(directions: np.ndarray, axcodes: str) -> np.ndarray:
    """The columns of ``directions`` permuted and flipped so that they read ``axcodes``."""
    affine = np.eye(4)
    affine[:3, :3] = directions
    transform = ornt_transform(io_orientation(affine), axcodes2ornt(tuple(axcodes)))
    out = np.zeros((3, 3))
    for column, (new_column, flip) in enumerate(transform):
        out[:, int(new_column)] = directions[:, column] * flip
    return out


def _covering_grid(directions: np.ndarray, points: np.ndarray) -> tuple[tuple[int, ...], np.ndarray]:
    """The smallest grid with voxel axes ``directions`` (3x3, spacing included) whose voxels cover ``points``."""
    voxels = np.linalg.solve(directions, points.T).T
    lower, upper = np.floor(voxels.min(0)), np.ceil(voxels.max(0))
    affine = np.eye(4)
    affine[:3, :3] = directions
    affine[:3, 3] = directions @ lower
    return tuple(int(n) for n in upper - lower + 1), affine


def _check_axcodes(axcodes: str) -> str:
    codes = str(axcodes).upper()
    if len(codes) != 3 or any(sum(c in pair for c in codes) != 1 for pair in ("LR", "AP", "SI")):
        raise ValueError(f"`axcodes` must name one of L/R, A/P and S/I each, e.g. 'LPS', got {axcodes!r}")
    return codes


def rotate_reorient(
    image: nib.Nifti1Image,
    angles_deg: Sequence[float] = (15.0, 15.0, 0.0),
    axcodes: str = "LPS",
    *,
    label: nib.Nifti1Image | None = None,
    mask: nib.Nifti1Image | None = None,
) -> Variant:
    """Turn the voxel grid against the head and store it in another voxel order.

    The head keeps its place in world; the grid (the old one's axes, turned by ``angles_deg`` about the world's
    x, y and z axes, extrinsic) is resampled to cover the head, so in voxel space the head is tilted, as a head
    tilted in the scanner is, and the affine records the rotation. The grid's axes are then permuted and flipped
    so that the file's voxel order reads ``axcodes``.

    Args:
        image: a 3-D image ``(X, Y, Z)``, any dtype.
        angles_deg: rotations about world x, y and z, each in [-45, 45] degrees. Defaults to (15.0, 15.0, 0.0).
        axcodes: the stored voxel order, one letter of L/R, A/P and S/I each. Defaults to ``"LPS"``.
        label: a label map on ``image``'s grid, resampled by majority. Defaults to None.
        mask: a brain mask on ``image``'s grid, resampled by majority. Defaults to None.

    Returns:
        A :class:`Variant` on the new grid (same spacing): the float32 image (0 outside the old field of view),
        and the label and mask when given.

    Raises:
        TypeError: when an input is not a nibabel image.
        ValueError: when an input is not 3-D, a label or mask is off the image's grid, or an angle or the axis
            codes are invalid.
    """
    angles = np.asarray(angles_deg, dtype=float)
    if angles.shape != (3,) or not np.all(np.isfinite(angles)) or np.any(np.abs(angles) > 45):
        raise ValueError(f"`angles_deg` must be 3 angles in [-45, 45] degrees, got {angles_deg!r}")
    codes = _check_axcodes(axcodes)
    variant = checked_variant(image, label, mask)
    rotation = Rotation.from_euler("xyz", angles, degrees=True).as_matrix()
    directions = _reordered(rotation @ variant.image.affine[:3, :3], codes)
    grid = _covering_grid(directions, _head_corners(variant.image))
    return resample_variant(variant, grid, np.ones(3), mode="constant")


def _per_axis(name: str, value, low: float, high: float, interval: str) -> np.ndarray:
    """``value`` as 3 numbers per voxel axis, each in [low, high] (``interval`` says so in the error)."""
    values = np.asarray(value, dtype=float)
    values = np.full(3, float(values)) if values.ndim == 0 else values
    if values.shape != (3,) or not np.all((values >= low) & (values <= high)):
        raise ValueError(f"`{name}` must be a number or 3 numbers in {interval}, got {value!r}")
    return values


def _window_from_fraction(shape, keep_fraction, anchor) -> list[slice]:
    keep = _per_axis("keep_fraction", keep_fraction, np.nextafter(0.0, 1.0), 1.0, "(0, 1]")
    where = _per_axis("anchor", anchor, 0.0, 1.0, "[0, 1]")
    sizes = np.maximum(1, np.round(np.asarray(shape) * keep)).astype(int)
    starts = np.round((np.asarray(shape) - sizes) * where).astype(int)
    return [slice(int(s), int(s + n)) for s, n in zip(starts, sizes, strict=True)]


def _window_from_box(image: nib.Nifti1Image, box_mm) -> list[slice]:
    box = np.asarray(box_mm, dtype=float)
    if box.shape != (3, 2) or not np.all(np.isfinite(box)) or np.any(box[:, 0] >= box[:, 1]):
        raise ValueError(f"`box_mm` must be ((x0, x1), (y0, y1), (z0, z1)) in world mm with x0 < x1, got {box_mm!r}")
    corners = np.array([[box[axis, bit] for axis, bit in enumerate(bits)] for bits in np.ndindex(2, 2, 2)])
    voxels = nib.affines.apply_affine(np.linalg.inv(image.affine), corners)
    lower = np.clip(np.ceil(voxels.min(0) - 1e-6), 0, None).astype(int)
    upper = np.minimum(np.floor(voxels.max(0) + 1e-6).astype(int) + 1, image.shape)
    if np.any(upper <= lower):
        raise ValueError(f"`box_mm` must overlap the image's field of view, got {box_mm!r}")
    return [slice(int(a), int(b)) for a, b in zip(lower, upper, strict=True)]


def crop_fov(
    image: nib.Nifti1Image,
    keep_fraction: float | Sequence[float] | None = None,
    box_mm: Sequence[Sequence[float]] | None = None,
    anchor: float | Sequence[float] = 0.5,
    *,
    label: nib.Nifti1Image | None = None,
    mask: nib.Nifti1Image | None = None,
) -> Variant:
    """A partial field of view: a window of the voxel grid, with its affine moved to keep world positions.

    Args:
        image: a 3-D image ``(X, Y, Z)``, any dtype (kept, with the header's scaling).
        keep_fraction: the fraction of each voxel axis kept, one number or one per axis, in (0, 1]. Give this or
            ``box_mm``. Defaults to None.
        box_mm: keep the voxels whose centres lie in this world (RAS mm) box, ``((x0, x1), (y0, y1), (z0, z1))``
            (for an oblique grid: the voxel-axis box around its corners). Defaults to None.
        anchor: with ``keep_fraction``, where the window sits on each voxel axis: 0 at its start, 0.5 centred,
            1 at its end; one number or one per axis. Defaults to 0.5.
        label: a label map on ``image``'s grid, cropped alike. Defaults to None.
        mask: a brain mask on ``image``'s grid, cropped alike. Defaults to None.

    Returns:
        A :class:`Variant` of the cropped images (their voxels unchanged).

    Raises:
        TypeError: when an input is not a nibabel image.
        ValueError: when an input is not 3-D, a label or mask is off the image's grid, both or neither of
            ``keep_fraction`` and ``box_mm`` are given, or either is out of range.
    """
    if (keep_fraction is None) == (box_mm is None):
        raise ValueError(f"give one of `keep_fraction` and `box_mm`, got {keep_fraction!r} and {box_mm!r}")
    variant = checked_variant(image, label, mask)
    if keep_fraction is not None:
        window = _window_from_fraction(variant.image.shape, keep_fraction, anchor)
    else:
        window = _window_from_box(variant.image, box_mm)
    return Variant(*(None if part is None else part.slicer[tuple(window)] for part in variant))


def rescale_intensity(
    image: nib.Nifti1Image,
    slope: float = 1.0,
    intercept: float = 0.0,
    dtype: str | np.dtype = "int16",
    out_range: tuple[float, float] | None = None,
    *,
    label: nib.Nifti1Image | None = None,
    mask: nib.Nifti1Image | None = None,
) -> Variant:
    """Store the intensities as another scanner would: integers, a header scaling, another range.

    The real values ``v`` (first mapped linearly from the image's [min, max] onto ``out_range`` when given) are
    stored as raw integers ``round((v - intercept) / slope)`` of ``dtype`` (clipped to its range, as a scanner
    saturates) with ``scl_slope = slope`` and ``scl_inter = intercept``. The returned image holds the raw
    integers in memory, exactly what ``nib.save`` writes; nibabel applies the scaling when the file is read
    (:func:`read_back` does that in memory), as ITK and MONAI readers do.

    Args:
        image: a 3-D image ``(X, Y, Z)``, any dtype.
        slope: the header's ``scl_slope``, finite and non-zero. Defaults to 1.0.
        intercept: the header's ``scl_inter``, finite. Defaults to 0.0.
        dtype: an integer dtype for the raw values. Defaults to ``"int16"``.
        out_range: the real values' new (low, high), e.g. (0, 4095) for a 12-bit scanner; None keeps them.
            Defaults to None.
        label: a label map on ``image``'s grid, returned as it is. Defaults to None.
        mask: a brain mask on ``image``'s grid, returned as it is. Defaults to None.

    Returns:
        A :class:`Variant`: the stored image, and the label and mask unchanged.

    Raises:
        TypeError: when an input is not a nibabel image, or ``dtype`` is not an integer type.
        ValueError: when an input is not 3-D, a label or mask is off the image's grid, or the slope, intercept or
            range is invalid.
    """
    if not np.isfinite(slope) or slope == 0 or not np.isfinite(intercept):
        raise ValueError(f"`slope` must be finite and non-zero and `intercept` finite, got {slope} and {intercept}")
    kind = np.dtype(dtype)
    if kind.kind not in "iu":
        raise TypeError(f"`dtype` must be an integer type, got {kind}")
    variant = checked_variant(image, label, mask)
    values = np.asarray(variant.image.dataobj, dtype=np.float64)
    if out_range is not None:
        low, high = (float(v) for v in out_range)
        if not (np.isfinite(low) and np.isfinite(high) and low < high):
            raise ValueError(f"`out_range` must be (low, high) with low < high, got {out_range!r}")
        span = values.max() - values.min()
        values = low + (values - values.min()) * ((high - low) / span if span > 0 else 0.0)
    info = np.iinfo(kind)
    raw = np.clip(np.round((values - intercept) / slope), info.min, info.max).astype(kind)
    stored = nib.Nifti1Image(raw, variant.image.affine, variant.image.header.copy())
    stored.set_data_dtype(kind)
    stored.header.set_slope_inter(float(slope), float(intercept))
    return Variant(stored, variant.label, variant.mask)


def read_back(image: nib.Nifti1Image) -> nib.Nifti1Image:
    """``image`` as a reader sees it after ``nib.save``: written to bytes and read, header scaling applied."""
    return nib.Nifti1Image.from_bytes(image.to_bytes())
