"""Loading image volumes with SimpleITK (NIfTI, MetaImage and anything else ITK reads)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import SimpleITK as sitk
from monai.data import MetaTensor

from medmonai.errors import DataError, reason

__all__ = ["load_volume"]


def load_volume(path: str | Path) -> MetaTensor:
    """Read a 3-D volume as a channel-first ``(1, X, Y, Z)`` float32 ``MetaTensor``.

    SimpleITK's ``(z, y, x)`` array is transposed to ``(x, y, z)`` so that axial slices are the last axis. The
    MetaTensor's ``filename_or_obj`` names the file, so later transforms can name it in their errors.

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
    return MetaTensor(array[None], meta={"filename_or_obj": str(path), "spacing": image.GetSpacing()})
