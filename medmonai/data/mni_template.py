"""The MNI152 brain template shipped with nilearn, and writing volumes in its space: the base of the embedded data."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import nibabel as nib
import numpy as np
import SimpleITK as sitk

from medmonai.errors import ConfigError

__all__ = ["default_cache_dir", "load_template", "save_volume"]


def default_cache_dir() -> Path:
    """``$MEDMONAI_CACHE`` or ``~/.cache/medmonai``."""
    return Path(os.environ.get("MEDMONAI_CACHE", Path.home() / ".cache" / "medmonai"))


def load_template(resolution: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Load nilearn's MNI152 T1 template and brain mask (offline; both ship inside nilearn).

    Args:
        resolution: voxel size in mm, 1 (197x233x189) or 2 (99x117x95).

    Returns:
        ``(t1, brain, affine)``: the T1 scaled to [0, 1] and the {0, 1} brain mask, both float32 ``(X, Y, Z)``,
        and the 4x4 RAS affine.

    Raises:
        ConfigError: nilearn is not installed.
    """
    try:
        from nilearn.datasets import load_mni152_brain_mask, load_mni152_template
    except ImportError as e:
        raise ConfigError("the embedded data needs nilearn's MNI152 template: pip install 'medmonai[demo]'") from e

    template = load_mni152_template(resolution=resolution)
    mask = load_mni152_brain_mask(resolution=resolution)
    t1 = np.asarray(template.get_fdata(), np.float32)
    return t1 / max(float(t1.max()), 1e-6), np.asarray(mask.get_fdata() > 0.5, np.float32), template.affine


def save_volume(volume: np.ndarray, affine: np.ndarray, path: Path) -> None:
    """Write ``(X, Y, Z)`` ``volume`` with ``affine`` as NIfTI (``.nii``/``.nii.gz``) or MetaImage (``.mha``)."""
    nifti = nib.Nifti1Image(volume, affine)
    if not path.name.endswith(".mha"):
        nib.save(nifti, str(path))
        return
    with tempfile.TemporaryDirectory() as tmp:  # SimpleITK converts NIfTI's RAS affine into MetaImage's LPS header
        nib.save(nifti, f"{tmp}/v.nii")
        image = sitk.ReadImage(f"{tmp}/v.nii")
        plain = sitk.GetImageFromArray(sitk.GetArrayFromImage(image))
        plain.CopyInformation(image)  # geometry only: NIfTI header fields have no MetaImage equivalent
        sitk.WriteImage(plain, str(path), True)
