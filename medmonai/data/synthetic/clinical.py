"""Clinical versions of a research volume, as a hospital scanner would store them.

Every function takes a 3-D nibabel image, and optionally a label map and a brain mask on the same grid, and returns
a :class:`Variant` of nibabel images whose affines keep world positions: a variant overlays its original in a
viewer. Images are interpolated linearly; labels and masks by majority (each value's footprint fraction,
interpolated linearly, largest wins), so they keep their values (a binary mask stays binary).

- :func:`thick_slices`: thick slices (a box slice profile: each slice averages its slab) along one axis, and
  optionally another in-plane spacing;
- :func:`rotate_reorient`: a voxel grid turned against the head (an oblique acquisition: in voxel space the head is
  tilted) and stored in another voxel order (``"LPS"``, ``"PIL"``, ...);
- :func:`crop_fov`: a partial field of view;
- :func:`rescale_intensity`: integers with ``scl_slope``/``scl_inter``, in another scanner's range;
- :func:`clinical_variants`: the benchmark's standard set, each alone and all at once.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import nibabel as nib
import numpy as np
from nibabel.orientations import axcodes2ornt, io_orientation, ornt_transform
from nibabel.processing import resample_from_to
from scipy import ndimage
from scipy.spatial.transform import Rotation

__all__ = [
    "CLINICAL_VARIANTS",
    "Variant",
    "clinical_variants",
    "crop_fov",
    "read_back",
    "rescale_intensity",
    "rotate_reorient",
    "thick_slices",
]

CLINICAL_VARIANTS = ("thick", "rotated", "cropped", "rescaled", "clinical")
_PLANES = {"sagittal": 0, "coronal": 1, "axial": 2}  # the world (RAS) axis each plane's slices are stacked along
_STORED_CODES = ("LPS", "PIL", "ASL", "IRP")  # voxel orders the rotated variant is stored in (none is RAS)


class Variant(NamedTuple):
    """A clinical variant: the image, and the label map and brain mask when they were given (else None)."""

    image: nib.Nifti1Image
    label: nib.Nifti1Image | None = None
    mask: nib.Nifti1Image | None = None


def _as_3d(image: nib.spatialimages.SpatialImage, name: str = "image") -> nib.Nifti1Image:
    """``image`` as a 3-D NIfTI image (trailing singleton axes dropped)."""
    if not isinstance(image, nib.spatialimages.SpatialImage):
        raise TypeError(f"`{name}` must be a nibabel image, got {type(image).__name__}")
    image = nib.funcs.squeeze_image(image)
    if image.ndim != 3:
        raise ValueError(f"`{name}` must be a 3-D volume, got shape {image.shape}")
    if not isinstance(image, nib.Nifti1Image):
        image = nib.Nifti1Image(np.asanyarray(image.dataobj), image.affine)
    return image


def _on_grid(image: nib.Nifti1Image, other, name: str) -> nib.Nifti1Image | None:
    """``other`` (a label map or mask) as 3-D, checked to lie on ``image``'s grid; None stays None."""
    if other is None:
        return None
    other = _as_3d(other, name)
    if other.shape != image.shape or not np.allclose(other.affine, image.affine, atol=1e-3):
        raise ValueError(
            f"`{name}` must be on the image's grid (shape {image.shape}), got shape {other.shape} "
            f"and affine {np.round(other.affine, 3).tolist()}"
        )
    return other


def _spacing(affine: np.ndarray) -> np.ndarray:
    return np.sqrt((affine[:3, :3] ** 2).sum(axis=0))


def _voxel_axis(affine: np.ndarray, axis: int | str) -> int:
    """A voxel axis, given as an index or as a plane name (the voxel axis closest to that plane's normal)."""
    if isinstance(axis, str):
        if axis not in _PLANES:
            raise ValueError(f"`axis` must be 0, 1, 2 or one of {sorted(_PLANES)}, got {axis!r}")
        return int(np.flatnonzero(io_orientation(affine)[:, 0] == _PLANES[axis])[0])
    if axis not in (0, 1, 2):
        raise ValueError(f"`axis` must be 0, 1, 2 or one of {sorted(_PLANES)}, got {axis!r}")
    return int(axis)


def _new_image(data: np.ndarray, affine: np.ndarray) -> nib.Nifti1Image:
    """A NIfTI image with its affine in both qform and sform (code 1, scanner), as scanners write them."""
    image = nib.Nifti1Image(data, affine)
    image.set_qform(affine, code=1)
    image.set_sform(affine, code=1)
    image.header.set_xyzt_units("mm", "sec")
    return image


def _box_kernel(width: float) -> np.ndarray:
    """A box of ``width`` voxels (fractional edges) sampled on whole voxels, summing to 1."""
    half = width / 2.0
    reach = int(np.ceil(half - 0.5))
    offsets = np.arange(-reach, reach + 1)
    weights = np.clip(np.minimum(offsets + 0.5, half) - np.maximum(offsets - 0.5, -half), 0.0, None)
    return weights / weights.sum()


def _footprint_average(data: np.ndarray, widths: Sequence[float]) -> np.ndarray:
    """Average ``data`` over a box of ``widths[i]`` voxels along each axis where it is wider than one voxel."""
    out = data.astype(np.float32)
    for axis, width in enumerate(widths):
        if width > 1.0 + 1e-6:
            out = ndimage.convolve1d(out, _box_kernel(width), axis=axis, mode="nearest")
    return out


def _sample(data: np.ndarray, affine: np.ndarray, grid: tuple, mode: str) -> np.ndarray:
    """Linear interpolation of ``data`` (on ``affine``) at the voxel centres of ``grid`` = (shape, affine)."""
    source = nib.Nifti1Image(np.asarray(data, dtype=np.float32), affine)
    return np.asarray(resample_from_to(source, grid, order=1, mode=mode, cval=0.0).dataobj, dtype=np.float32)


def _resample(image: nib.Nifti1Image | None, grid: tuple, widths, label: bool, mode: str):
    """``image`` on ``grid``: a footprint average then linear interpolation, or, for labels, their majority."""
    if image is None:
        return None
    data = np.asanyarray(image.dataobj)
    if not label:
        return _new_image(_sample(_footprint_average(data, widths), image.affine, grid, mode), grid[1])
    values = np.unique(data)
    fractions = [_sample(_footprint_average(data == v, widths), image.affine, grid, mode) for v in values]
    return _new_image(values[np.argmax(np.stack(fractions), axis=0)], grid[1])


def _resample_variant(variant: Variant, grid: tuple, widths, mode: str) -> Variant:
    image, label, mask = variant
    return Variant(
        _resample(image, grid, widths, False, mode),
        _resample(label, grid, widths, True, mode),
        _resample(mask, grid, widths, True, mode),
    )


def _checked(image, label, mask) -> Variant:
    image = _as_3d(image)
    return Variant(image, _on_grid(image, label, "label"), _on_grid(image, mask, "mask"))


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
    variant = _checked(image, label, mask)
    old = _spacing(variant.image.affine)
    new = old.copy() if in_plane_mm is None else np.full(3, _check_mm("in_plane_mm", in_plane_mm, 20.0))
    voxel_axis = _voxel_axis(variant.image.affine, axis)
    new[voxel_axis] = _check_mm("thickness_mm", thickness_mm, 20.0)
    grid = _regrid(variant.image.shape, variant.image.affine, new)
    return _resample_variant(variant, grid, new / old, mode="nearest")


def _regrid(shape: Sequence[int], affine: np.ndarray, spacing: np.ndarray) -> tuple[tuple[int, ...], np.ndarray]:
    """A grid with ``spacing``, the orientation of ``affine``, centred on and covering the same extent."""
    old = _spacing(affine)
    extent = np.asarray(shape) * old
    new_shape = np.maximum(1, np.round(extent / spacing)).astype(int)
    scale = spacing / old  # old voxels per new voxel
    offset = (np.asarray(shape) - 1) / 2.0 - scale * (new_shape - 1) / 2.0  # centres coincide
    index_map = np.eye(4)
    index_map[:3, :3] = np.diag(scale)
    index_map[:3, 3] = offset
    return tuple(int(n) for n in new_shape), affine @ index_map


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
    variant = _checked(image, label, mask)
    rotation = Rotation.from_euler("xyz", angles, degrees=True).as_matrix()
    directions = _reordered(rotation @ variant.image.affine[:3, :3], codes)
    grid = _covering_grid(directions, _head_corners(variant.image))
    return _resample_variant(variant, grid, np.ones(3), mode="constant")


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
    variant = _checked(image, label, mask)
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
    variant = _checked(image, label, mask)
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


def _settings(image: nib.Nifti1Image, rng: np.random.Generator) -> dict:
    """The seeded settings of the standard variants, for ``image``."""
    axes = rng.choice(3, size=2, replace=False)
    angles = np.zeros(3)
    angles[axes] = 15.0 * rng.choice([-1.0, 1.0], size=2)
    extent = np.asarray(image.shape) * _spacing(image.affine)
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
    axial, coronal = _voxel_axis(variant.image.affine, "axial"), _voxel_axis(variant.image.affine, "coronal")
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
    base = _checked(image, label, mask)
    settings = _settings(base.image, np.random.default_rng(seed))
    return {
        "thick": _thick(base, settings),
        "rotated": _rotated(base, settings),
        "cropped": _crop(base, settings),
        "rescaled": _rescaled(base, settings),
        "clinical": _rescaled(_crop(_thick(_rotated(base, settings), settings), settings), settings),
    }
