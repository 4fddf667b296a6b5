"""The MNI152 brain template shipped with nilearn, and writing volumes in its space: the base of the embedded data."""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path

import nibabel as nib
import numpy as np
import SimpleITK as sitk

from medmonai.errors import ConfigError

__all__ = [
    "brain_sources",
    "default_cache_dir",
    "generator_version",
    "load_template",
    "load_tissue_maps",
    "save_volume",
]

_NOT_BRAIN = ("retina.py", "embedded_oct.py", "examples.py")  # not part of the brain phantoms


def brain_sources() -> list[Path]:
    """The brain phantoms' source files: the modules directly in ``synthetic/`` except the OCT retina's.

    The population and the clinical variants are packages of their own, not phantom code, so they are not listed.
    """
    return [f for f in Path(__file__).resolve().parent.glob("*.py") if f.name not in _NOT_BRAIN]


def generator_version(sources: Sequence[str | Path] | None = None) -> str:
    """8 hex digits of a generator's source code.

    Generated data sets are cached under a name holding it, so a cache written by other code is never reused.

    Args:
        sources: the source files of the generator. Defaults to the brain phantoms' (``synthetic/`` except the
            OCT retina's).
    """
    if sources is None:
        sources = brain_sources()
    digest = hashlib.sha256(b"".join(Path(f).read_bytes() for f in sorted(map(Path, sources))))
    return digest.hexdigest()[:8]


def default_cache_dir() -> Path:
    """``$MEDMONAI_CACHE`` or ``~/.cache/medmonai``."""
    return Path(os.environ.get("MEDMONAI_CACHE", Path.home() / ".cache" / "medmonai"))


def _nilearn_datasets():
    try:
        from nilearn import datasets
    except ImportError as e:
        raise ConfigError("the embedded data needs nilearn's MNI152 template: pip install 'medmonai[demo]'") from e
    return datasets


def _check_resolution(resolution: int) -> None:
    if resolution not in (1, 2):
        raise ConfigError(f"the MNI152 template resolution must be 1 or 2 mm, got {resolution}")


def _load(loader, resolution: int) -> tuple[np.ndarray, np.ndarray]:
    """A nilearn MNI152 volume as float32 and its affine, read at 1 mm.

    nilearn's 2 mm grid is every other 1 mm voxel (same origin), and its ``resolution=2`` loaders spline-resample
    onto it, which reproduces those voxels; taking them directly gives the same volume ten times faster.
    """
    image = loader(resolution=1)
    data, affine = np.asarray(image.get_fdata(), np.float32), np.array(image.affine, np.float64)
    if resolution == 2:
        data = np.ascontiguousarray(data[::2, ::2, ::2])
        affine[:3, :3] *= 2.0
    return data, affine


def load_template(resolution: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Load nilearn's MNI152 T1 template and brain mask (offline; both ship inside nilearn).

    Args:
        resolution: voxel size in mm, 1 (197x233x189) or 2 (99x117x95).

    Returns:
        ``(t1, brain, affine)``: the T1 scaled to [0, 1] and the {0, 1} brain mask, both float32 ``(X, Y, Z)``,
        and the 4x4 RAS affine.

    Raises:
        ConfigError: nilearn is not installed, or ``resolution`` is not 1 or 2.
    """
    _check_resolution(resolution)
    datasets = _nilearn_datasets()
    t1, affine = _load(datasets.load_mni152_template, resolution)
    mask, _ = _load(datasets.load_mni152_brain_mask, resolution)
    return t1 / max(float(t1.max()), 1e-6), np.asarray(mask > 0.5, np.float32), affine


def load_tissue_maps(resolution: int) -> tuple[np.ndarray, np.ndarray]:
    """Load nilearn's MNI152 grey- and white-matter probability maps (offline), on :func:`load_template`'s grid.

    Args:
        resolution: voxel size in mm, 1 or 2.

    Returns:
        ``(gm, wm)``: float32 ``(X, Y, Z)`` probabilities in [0, 1].

    Raises:
        ConfigError: nilearn is not installed, or ``resolution`` is not 1 or 2.
    """
    _check_resolution(resolution)
    datasets = _nilearn_datasets()
    loaders = (datasets.load_mni152_gm_template, datasets.load_mni152_wm_template)
    gm, wm = (np.clip(_load(loader, resolution)[0], 0.0, 1.0) for loader in loaders)
    return gm, wm


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
