"""Loading image volumes with SimpleITK (NIfTI, MetaImage and anything else ITK reads)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import nibabel as nib
import numpy as np
import SimpleITK as sitk
import torch
from monai.data import DataLoader, Dataset, MetaTensor

from medmonai.errors import DataError, reason

__all__ = ["load_volume", "ras_affine", "volume_loader"]


def load_volume(path: str | Path) -> MetaTensor:
    """Read a 3-D volume as a channel-first ``(1, X, Y, Z)`` float32 ``MetaTensor`` (NIfTI via nibabel, else SimpleITK).

    SimpleITK's ``(z, y, x)`` array is transposed to ``(x, y, z)`` so that axial slices are the last axis. The
    MetaTensor's ``filename_or_obj`` names the file, so later transforms can name it in their errors, and its
    ``affine`` is the voxel-to-world (RAS, mm) matrix, as nibabel reports it.

    Raises:
        DataError: the file is unreadable or truncated, or not 3-D.
    """
    path = Path(path)
    if path.name.lower().endswith((".nii", ".nii.gz")):
        return _load_nifti(path)
    try:
        image = sitk.ReadImage(str(path))
    except RuntimeError as e:
        raise DataError(f"{path}: unreadable image ({reason(e, last_chars=160)})") from e
    if image.GetDimension() != 3 or image.GetNumberOfComponentsPerPixel() != 1:
        raise DataError(f"{path}: expected a 3-D single-channel volume, got size {image.GetSize()}")
    array = np.ascontiguousarray(sitk.GetArrayFromImage(image).transpose(2, 1, 0), dtype=np.float32)
    meta = {"filename_or_obj": str(path), "spacing": image.GetSpacing(), "affine": ras_affine(image)}
    return MetaTensor(array[None], meta=meta)


def _load_nifti(path: Path) -> MetaTensor:
    """NIfTI through nibabel: as fast, and it keeps NaN voxels, which ITK's NIfTI reader turns into zeros."""
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
    }
    return MetaTensor(np.ascontiguousarray(array)[None], meta=meta)


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
