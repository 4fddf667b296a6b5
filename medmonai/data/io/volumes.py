"""3-D volumes as channel-first MetaTensors (NIfTI through nibabel, every other format through SimpleITK).

One reader opens every volume format (:func:`load_volume`); :func:`read_nifti_ras` reads a NIfTI volume as a
plain RAS array, for taking 2-D slices of it.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import nibabel as nib
import numpy as np
import SimpleITK as sitk
import torch
from monai.data import DataLoader, Dataset, MetaTensor

from medmonai.data.io.dicom import read_dicom_series
from medmonai.data.io.headers import NIFTI_SUFFIXES, check_nifti_header
from medmonai.errors import DataError, reason

__all__ = ["VOLUME_SUFFIXES", "load_volume", "ras_affine", "read_nifti_ras", "volume_loader"]

VOLUME_SUFFIXES = (".nii.gz", ".nii", ".mha", ".mhd", ".nrrd", ".nhdr")  # what load_volume reads as one file


def load_volume(path: str | Path) -> MetaTensor:
    """Read a 3-D volume as a channel-first ``(1, X, Y, Z)`` float32 ``MetaTensor`` (NIfTI via nibabel, else SimpleITK).

    SimpleITK's ``(z, y, x)`` array is transposed to ``(x, y, z)`` so that axial slices are the last axis. The
    MetaTensor's ``filename_or_obj`` names the file, so later transforms can name it in their errors, and its
    ``affine`` is the voxel-to-world (RAS, mm) matrix, as nibabel reports it. ``original_affine`` and
    ``spatial_shape`` keep the file's own grid after reorientation and resampling, so maps can go back onto it.

    Raises:
        DataError: the file is unreadable or truncated, or not 3-D.
    """
    path = Path(path)
    if path.name.lower().endswith(NIFTI_SUFFIXES):
        return _load_nifti(path)
    try:
        image = read_dicom_series(path) if path.is_dir() else sitk.ReadImage(str(path))
    except RuntimeError as e:
        raise DataError(f"{path}: unreadable image ({reason(e, last_chars=160)})") from e
    if image.GetDimension() != 3 or image.GetNumberOfComponentsPerPixel() != 1:
        raise DataError(f"{path}: expected a 3-D single-channel volume, got size {image.GetSize()}")
    array = np.ascontiguousarray(sitk.GetArrayFromImage(image).transpose(2, 1, 0), dtype=np.float32)
    affine = ras_affine(image)
    meta = {"filename_or_obj": str(path), "spacing": image.GetSpacing(), "affine": affine}
    meta.update({"original_affine": affine.clone(), "spatial_shape": np.asarray(array.shape)})
    return MetaTensor(array[None], meta=meta)


def _load_nifti(path: Path) -> MetaTensor:
    """NIfTI through nibabel: as fast, and it keeps NaN voxels, which ITK's NIfTI reader turns into zeros."""
    check_nifti_header(path)
    try:
        image = nib.load(str(path))
        array = np.asarray(image.dataobj, dtype=np.float32)
    except Exception as e:  # nibabel raises many types for corrupt files
        raise DataError(f"{path}: unreadable image ({reason(e, last_chars=160)})") from e
    if array.ndim != 3:
        raise DataError(f"{path}: expected a 3-D single-channel volume, got shape {array.shape}")
    meta = {
        "filename_or_obj": str(path),
        "spacing": tuple(float(z) for z in image.header.get_zooms()[:3]),
        "affine": torch.as_tensor(image.affine, dtype=torch.float64),
        "original_affine": torch.as_tensor(image.affine, dtype=torch.float64),
        "spatial_shape": np.asarray(array.shape),
    }
    return MetaTensor(np.ascontiguousarray(array)[None], meta=meta)


def read_nifti_ras(path: Path) -> np.ndarray:
    """Decode a NIfTI volume whole, reoriented to RAS (axes swapped and flipped, never resampled): float32 3-D.

    Non-finite voxels are set to the smallest finite value.

    Raises:
        DataError: the file is unreadable, or not a 3-D single-channel volume.
    """
    try:
        image = nib.as_closest_canonical(nib.load(str(path)))
        volume = np.asarray(image.dataobj, np.float32)
    except Exception as e:  # nibabel raises many types for corrupt files
        raise DataError(f"{path}: unreadable volume ({reason(e, last_chars=160)})") from e
    while volume.ndim > 3 and volume.shape[-1] == 1:
        volume = volume[..., 0]
    if volume.ndim != 3:
        raise DataError(f"{path}: expected a 3-D single-channel volume, got shape {volume.shape}")
    finite = np.isfinite(volume)
    if not finite.all():
        volume = np.where(finite, volume, volume[finite].min(initial=0.0)).astype(np.float32)
    return volume


def ras_affine(image: sitk.Image) -> torch.Tensor:
    """The 4x4 voxel-to-world affine of a SimpleITK image in RAS convention (ITK's world is LPS)."""
    spacing = np.asarray(image.GetSpacing(), np.float64)
    direction = np.asarray(image.GetDirection(), np.float64).reshape(3, 3)
    affine = np.eye(4)
    affine[:3, :3] = direction * spacing[None, :]
    affine[:3, 3] = image.GetOrigin()
    affine[:2] *= -1.0  # LPS -> RAS flips x and y
    return torch.as_tensor(affine, dtype=torch.float64)


def volume_loader(items: list[dict], transform: Callable, num_workers: int = 0) -> DataLoader:
    """Whole volumes one at a time (batch size 1, in datalist order), as the anomaly evaluators take them.

    Args:
        items: datalist items.
        transform: loads and preprocesses one item.
        num_workers: DataLoader workers. Defaults to 0.
    """
    return DataLoader(Dataset(items, transform), batch_size=1, num_workers=num_workers)
