"""Example new scans to map, with nothing to train on: the MNI152 brain, and the same brain with a lesion pasted in.

They show inference on a user's own folder of scans (no labels, no brain masks: the brains are skull-stripped, so
their nonzero region is the brain). The lesion is a test lesion, never a training input.
"""

from __future__ import annotations

from pathlib import Path

import nibabel as nib
import numpy as np

from medmonai.data.synthetic.template import load_template

__all__ = ["write_example_scans"]


def write_example_scans(folder: str | Path, radius: int = 6, brightness: float = 1.6) -> list[Path]:
    """Write ``mni_healthy.nii.gz`` and ``mni_lesion.nii.gz`` (2 mm MNI152 brains) into ``folder``.

    Args:
        folder: where the scans go (created).
        radius: the lesion's radius in voxels, a sphere in one hemisphere's white matter. Defaults to 6.
        brightness: the lesion's intensity, times the brain's 99.5th percentile. Defaults to 1.6.

    Returns:
        The two files.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    t1, mask, affine = load_template(2)
    brain = np.where(mask > 0, t1, 0).astype(np.float32)
    centre = np.array([30, 55, 40])[:, None, None, None]
    sphere = ((np.indices(brain.shape) - centre) ** 2).sum(0) <= radius**2
    lesion_value = brightness * np.percentile(brain[mask > 0], 99.5)
    lesioned = np.where(sphere & (mask > 0), lesion_value, brain).astype(np.float32)
    paths = [folder / "mni_healthy.nii.gz", folder / "mni_lesion.nii.gz"]
    for path, volume in zip(paths, (brain, lesioned), strict=True):
        nib.save(nib.Nifti1Image(volume, affine), str(path))
    return paths
