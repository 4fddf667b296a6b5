"""What every clinical variant is built on: the :class:`Variant` triple, its checks, and resampling onto a new grid.

Images are interpolated linearly after averaging over the new voxel's footprint; labels and masks by majority
(each value's footprint fraction, interpolated linearly, largest wins), so they keep their values.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import nibabel as nib
import numpy as np
from nibabel.orientations import io_orientation
from nibabel.processing import resample_from_to
from scipy import ndimage

__all__ = [
    "Variant",
    "as_3d",
    "checked_variant",
    "regrid",
    "resample_variant",
    "voxel_axis_of",
    "voxel_spacing",
]

_PLANES = {"sagittal": 0, "coronal": 1, "axial": 2}  # the world (RAS) axis each plane's slices are stacked along


class Variant(NamedTuple):
    """A clinical variant: the image, and the label map and brain mask when they were given (else None)."""

    image: nib.Nifti1Image
    label: nib.Nifti1Image | None = None
    mask: nib.Nifti1Image | None = None


def as_3d(image: nib.spatialimages.SpatialImage, name: str = "image") -> nib.Nifti1Image:
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
    other = as_3d(other, name)
    if other.shape != image.shape or not np.allclose(other.affine, image.affine, atol=1e-3):
        raise ValueError(
            f"`{name}` must be on the image's grid (shape {image.shape}), got shape {other.shape} "
            f"and affine {np.round(other.affine, 3).tolist()}"
        )
    return other


def voxel_spacing(affine: np.ndarray) -> np.ndarray:
    """The voxel size (mm) along each voxel axis of ``affine``."""
    return np.sqrt((affine[:3, :3] ** 2).sum(axis=0))


def voxel_axis_of(affine: np.ndarray, axis: int | str) -> int:
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


def resample_variant(variant: Variant, grid: tuple, widths, mode: str) -> Variant:
    """Every part of ``variant`` on ``grid`` = (shape, affine): the image interpolated, the rest by majority."""
    image, label, mask = variant
    return Variant(
        _resample(image, grid, widths, False, mode),
        _resample(label, grid, widths, True, mode),
        _resample(mask, grid, widths, True, mode),
    )


def checked_variant(image, label, mask) -> Variant:
    """The inputs as a :class:`Variant` of 3-D NIfTI images, the label and mask checked to lie on the image's grid."""
    image = as_3d(image)
    return Variant(image, _on_grid(image, label, "label"), _on_grid(image, mask, "mask"))


def regrid(shape: Sequence[int], affine: np.ndarray, spacing: np.ndarray) -> tuple[tuple[int, ...], np.ndarray]:
    """A grid with ``spacing``, the orientation of ``affine``, centred on and covering the same extent."""
    old = voxel_spacing(affine)
    extent = np.asarray(shape) * old
    new_shape = np.maximum(1, np.round(extent / spacing)).astype(int)
    scale = spacing / old  # old voxels per new voxel
    offset = (np.asarray(shape) - 1) / 2.0 - scale * (new_shape - 1) / 2.0  # centres coincide
    index_map = np.eye(4)
    index_map[:3, :3] = np.diag(scale)
    index_map[:3, 3] = offset
    return tuple(int(n) for n in new_shape), affine @ index_map
