"""The embedded ISLES-like default: stroke cases in the real SISS 2015 layout, built from the MNI152 template.

No ISLES data can be downloaded here, so cases are synthesised from the real MNI152 brain template and mask that
ship with nilearn (``resolution=2``: 99x117x95 voxels of 2 mm):

- anatomy: a seeded random affine (rotation, scaling, translation) and elastic deformation per case;
- contrasts: T1 is the template; T2, FLAIR and DWI are tissue-intensity maps of it (CSF bright on T2, suppressed
  on FLAIR; DWI low-contrast);
- lesions: 1 to 3 per case, irregular blobs of 2 to 8 voxels radius inside the brain, strongly hyperintense on
  DWI, moderately on FLAIR and T2, hypointense on T1 (acute ischaemic stroke);
- scanner variation per volume: bias field, gamma, Gaussian noise and a global intensity scale.

Cases alternate ``.nii.gz`` and ``.mha`` files and are written once, atomically, into a cache folder; the ISLES
reader then reads them like the real data.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
from monai.transforms import (
    Rand3DElasticd,
    RandAdjustContrast,
    RandAffined,
    RandBiasField,
    RandGaussianNoise,
)
from scipy import ndimage

from medmonai.data.mni_template import default_cache_dir, load_template, save_volume
from medmonai.errors import ConfigError
from medmonai.utils.outputs import atomic_directory

__all__ = ["embedded_siss"]

logger = logging.getLogger(__name__)
_MODALITIES = ("DWI", "Flair", "T1", "T2")


def _deform(t1: np.ndarray, brain: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
    data = {"image": t1[None], "brain": brain[None]}
    affine = RandAffined(
        ["image", "brain"],
        prob=1.0,
        rotate_range=(0.12, 0.12, 0.12),
        scale_range=(0.08, 0.08, 0.08),
        translate_range=(4, 4, 4),
        mode=("bilinear", "nearest"),
        padding_mode="zeros",
    )
    elastic = Rand3DElasticd(
        ["image", "brain"], sigma_range=(6, 8), magnitude_range=(30, 70), prob=1.0, mode=("bilinear", "nearest")
    )
    affine.set_random_state(seed)
    elastic.set_random_state(seed + 1)
    data = elastic(affine(data))
    return np.asarray(data["image"][0], np.float32), np.asarray(data["brain"][0] > 0.5, np.float32)


def _lesions(brain: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, list[dict]]:
    inside = ndimage.binary_erosion(brain > 0, iterations=6)
    candidates = np.argwhere(inside)
    grid = np.indices(brain.shape).astype(np.float32)
    lesion = np.zeros(brain.shape, bool)
    records = []
    for _ in range(int(rng.integers(1, 4))):
        centre = candidates[rng.integers(len(candidates))]
        radii = rng.uniform(2.0, 8.0, size=3)
        distance = sum(((grid[i] - centre[i]) / radii[i]) ** 2 for i in range(3))
        roughness = ndimage.gaussian_filter(rng.normal(size=brain.shape).astype(np.float32), 2.0)
        blob = (distance + 1.5 * roughness) < 1.0
        lesion |= blob & (brain > 0)
        records.append({"centre_voxel": centre.tolist(), "radii_voxels": [round(float(r), 2) for r in radii]})
    return lesion.astype(np.float32), records


def _contrasts(t1: np.ndarray, brain: np.ndarray, lesion: np.ndarray) -> dict[str, np.ndarray]:
    csf = np.clip((0.45 - t1) / 0.25, 0.0, 1.0) * brain  # dark on T1
    tissue = np.clip(t1, 0.0, 1.0)
    maps = {
        "T1": tissue * (1.0 - 0.35 * lesion),
        "T2": brain * (0.35 + 0.25 * (1.0 - tissue) + 0.45 * csf + 0.35 * lesion),
        "Flair": brain * (0.45 + 0.2 * (1.0 - tissue) - 0.35 * csf + 0.4 * lesion),
        "DWI": brain * (0.45 + 0.08 * tissue - 0.3 * csf) * (1.0 + 1.3 * lesion),
    }
    return {k: ndimage.gaussian_filter(v, 0.6) for k, v in maps.items()}


def _scanner(volume: np.ndarray, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    steps = (RandBiasField(coeff_range=(0.1, 0.3), prob=1.0), RandAdjustContrast(prob=1.0, gamma=(0.8, 1.25)))
    out = volume[None]
    for i, step in enumerate(steps):
        step.set_random_state(seed + i)
        out = np.asarray(step(out))
    noise = RandGaussianNoise(prob=1.0, std=float(rng.uniform(0.01, 0.03)))
    noise.set_random_state(seed + 7)
    out = np.clip(np.asarray(noise(out))[0], 0.0, None)
    return (out * rng.uniform(300.0, 1200.0)).astype(np.float32)


def _write_case(root: Path, index: int, t1, brain, affine, seed: int) -> dict:
    rng = np.random.default_rng(seed)
    t1_case, brain_case = _deform(t1, brain, seed)
    lesion, records = _lesions(brain_case, rng)
    suffix = ".nii.gz" if index % 2 else ".mha"
    case_dir = root / str(index)
    for j, (modality, volume) in enumerate(_contrasts(t1_case, brain_case, lesion).items()):
        name = f"VSD.Brain.XX.O.MR_{modality}.{70000 + 10 * index + j}"
        (case_dir / name).mkdir(parents=True)
        save_volume(_scanner(volume, seed + 100 * (j + 1)), affine, case_dir / name / f"{name}{suffix}")
    name = f"VSD.Brain_3more.XX.O.OT.{70000 + 10 * index + 9}"
    (case_dir / name).mkdir(parents=True)
    save_volume(lesion.astype(np.uint8), affine, case_dir / name / f"{name}{suffix}")
    return {"case_id": str(index), "format": suffix, "lesions": records, "lesion_voxels": int(lesion.sum())}


def embedded_siss(cache_dir: str | Path | None = None, n_cases: int = 12, seed: int = 0, resolution: int = 2) -> Path:
    """Return the folder of the embedded SISS-layout data set, generating it on first use.

    Args:
        cache_dir: where generated data sets live. Defaults to :func:`default_cache_dir`.
        n_cases: number of stroke cases, >= 2. Defaults to 12.
        seed: generation seed; each (n_cases, seed, resolution) has its own folder. Defaults to 0.
        resolution: MNI152 resolution in mm, 1 or 2. Defaults to 2.

    Returns:
        The ``SISS2015_Training`` folder, ready for :func:`medmonai.data.isles_datalist`; ``cases.json`` beside
        it lists each case's lesions.

    Raises:
        ConfigError: ``n_cases`` < 2 or ``resolution`` not 1 or 2.
    """
    if n_cases < 2 or resolution not in (1, 2):
        raise ConfigError(f"n_cases must be >= 2 and resolution 1 or 2, got {n_cases} and {resolution}")
    cache = Path(cache_dir) if cache_dir else default_cache_dir()
    final = cache / f"siss_embedded_n{n_cases}_seed{seed}_res{resolution}"
    if (final / "SISS2015_Training").is_dir():
        return final / "SISS2015_Training"
    logger.info(f"generating {n_cases} embedded SISS cases from the MNI152 template into {final}")
    t1, brain, affine = load_template(resolution)
    with atomic_directory(final) as staging:  # a half-written data set is never visible
        root = staging / "SISS2015_Training"
        cases = [_write_case(root, i + 1, t1, brain, affine, seed * 1000 + i) for i in range(n_cases)]
        (staging / "cases.json").write_text(
            json.dumps({"seed": seed, "resolution": resolution, "cases": cases}, indent=1)
        )
    return final / "SISS2015_Training"
