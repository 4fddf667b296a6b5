"""Loading image volumes with SimpleITK (NIfTI, MetaImage and anything else ITK reads)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import SimpleITK as sitk
import torch
from monai.data import MetaTensor

from medmonai.errors import DataError, reason

__all__ = ["load_volume", "ras_affine"]


def load_volume(path: str | Path) -> MetaTensor:
    """Read a 3-D volume as a channel-first ``(1, X, Y, Z)`` float32 ``MetaTensor``.

    SimpleITK's ``(z, y, x)`` array is transposed to ``(x, y, z)`` so that axial slices are the last axis. The
    MetaTensor's ``filename_or_obj`` names the file, so later transforms can name it in their errors, and its
    ``affine`` is the voxel-to-world (RAS, mm) matrix, as nibabel reports it.

    Raises:
        DataError: the file is unreadable or truncated, or not 3-D.
    """
    path = Path(path)
    try:
        image = sitk.ReadImage(str(path))
    except RuntimeError as e:
        raise DataError(f"{path}: unreadable image ({reason(e, last_chars=160)})") from e
    if image.GetDimension() != 3 or image.GetNumberOfComponentsPerPixel() != 1:
        raise DataError(f"{path}: expected a 3-D single-channel volume, got size {image.GetSize()}")
    array = np.ascontiguousarray(sitk.GetArrayFromImage(image).transpose(2, 1, 0), dtype=np.float32)
    meta = {"filename_or_obj": str(path), "spacing": image.GetSpacing(), "affine": ras_affine(image)}
    return MetaTensor(array[None], meta=meta)


def ras_affine(image: sitk.Image) -> torch.Tensor:
    """The 4x4 voxel-to-world affine of a SimpleITK image in RAS convention (ITK's world is LPS)."""
    spacing = np.asarray(image.GetSpacing(), np.float64)
    direction = np.asarray(image.GetDirection(), np.float64).reshape(3, 3)
    affine = np.eye(4)
    affine[:3, :3] = direction * spacing[None, :]
    affine[:3, 3] = image.GetOrigin()
    affine[:2] *= -1.0  # LPS -> RAS flips x and y
    return torch.as_tensor(affine, dtype=torch.float64)
