"""One 2-D plane of any image file by its extension: a picture, a single-frame DICOM image or a NIfTI slice.

:func:`load_plane` reads one channel of a 2-D training image into [0, 1]; :func:`plane_kind` tells which of the
three a file is, so readers can check files before loading them.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from medmonai.data.io.dicom import DICOM_SUFFIXES, read_dicom_plane
from medmonai.data.io.headers import NIFTI_SUFFIXES
from medmonai.data.io.pictures import IMAGE_SUFFIXES, read_picture
from medmonai.data.io.volumes import read_nifti_ras
from medmonai.errors import DataError

__all__ = ["PLANE_SUFFIXES", "file_stem", "load_plane", "plane_kind", "volume_plane"]

PLANE_SUFFIXES = IMAGE_SUFFIXES + DICOM_SUFFIXES + NIFTI_SUFFIXES  # what load_plane reads


def plane_kind(path: Path) -> str | None:
    """``"picture"``, ``"dicom"`` or ``"volume"`` by the file's suffix, or None for anything else."""
    lower = path.name.lower()
    if lower.endswith(NIFTI_SUFFIXES):
        return "volume"
    if lower.endswith(DICOM_SUFFIXES):
        return "dicom"
    return "picture" if lower.endswith(IMAGE_SUFFIXES) else None


def file_stem(path: Path) -> str:
    """The file name without its suffix (both of ``.nii.gz``)."""
    lower = path.name.lower()
    for suffix in NIFTI_SUFFIXES:
        if lower.endswith(suffix):
            return path.name[: -len(suffix)]
    return path.stem


def volume_plane(volume: np.ndarray, slice_axis: int, index: int) -> np.ndarray:
    """Slice ``index`` along ``slice_axis``, shown as usual: the later remaining axis vertical and rising upwards.

    For an axial slice of a RAS volume, rows run from anterior (top) to posterior, columns from left to right.
    """
    return np.ascontiguousarray(np.flipud(np.take(volume, index, axis=slice_axis).T))


def _unit(pixels: np.ndarray, value_range: tuple[float, float] | None) -> np.ndarray:
    """``pixels`` scaled to [0, 1] by ``value_range``, or by their own minimum and maximum when it is None."""
    low, high = value_range if value_range else (float(pixels.min()), float(pixels.max()))
    return np.clip((pixels - np.float32(low)) / np.float32(max(high - low, 1e-12)), 0.0, 1.0).astype(np.float32)


def load_plane(path: str | Path, slice_index: int = -1, slice_axis: int = 2) -> np.ndarray:
    """Read one channel of a 2-D image as float32 ``(H, W)`` in [0, 1].

    Pictures with 8- or 16-bit pixels are scaled by their dtype's range (0-255, 0-65535); float pictures, DICOM
    images (whose stored values are not display values) and NIfTI slices by their own minimum and maximum.

    Args:
        path: a picture (PNG, JPEG, TIFF, BMP), a single-frame DICOM image or a NIfTI volume.
        slice_index: for a volume, the slice to read (>= 0); ignored for 2-D files. Defaults to -1.
        slice_axis: for a volume, the axis sliced, after reorienting to RAS (2: axial). Defaults to 2.

    Raises:
        DataError: the file is unreadable or of an unknown type, not single-channel, or a volume is read without
            a valid slice index.
    """
    path = Path(path)
    kind = plane_kind(path)
    if kind == "picture":
        return _unit(*read_picture(path))
    if kind == "dicom":
        return _unit(read_dicom_plane(path), None)
    if kind is None:
        raise DataError(f"{path}: unsupported image type (expected one of {', '.join(PLANE_SUFFIXES)})")
    volume = read_nifti_ras(path)
    if not 0 <= slice_index < volume.shape[slice_axis]:
        raise DataError(
            f"{path}: no slice {slice_index} along axis {slice_axis} (the volume's shape is {volume.shape})"
        )
    return _unit(volume_plane(volume, slice_axis, slice_index), None)
