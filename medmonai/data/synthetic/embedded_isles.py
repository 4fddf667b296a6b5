"""The embedded ISLES-like default: stroke cases in the real SISS 2015 layout, built from the MNI152 template.

No ISLES data can be downloaded here, so cases are phantoms made by :mod:`medmonai.data.synthetic` from the
MNI152 tissue maps and brain mask that ship with nilearn (``resolution=2``: 99x117x95 voxels of 2 mm):

- anatomy: one multi-scale random deformation per case and a crisp, individually folded tissue label map
  (:func:`~medmonai.data.synthetic.synthetic_labels`);
- contrasts: the four modalities image the same labels with random tissue intensities of their contrast family
  (:func:`~medmonai.data.synthetic.synthesize`: T1 WM > GM > CSF, T2 CSF bright, FLAIR CSF suppressed, DWI
  low-contrast);
- lesions: 1 to 3 irregular blobs per case (:func:`~medmonai.data.synthetic.stroke_mask`, the test lesion
  generator's blob routine), strongly hyperintense on DWI, moderately on FLAIR and T2, hypointense on T1 (acute
  ischaemic stroke);
- scanner effects per volume (:func:`~medmonai.data.synthetic.scanner_effects`: resolution, sharpness, artefacts, bias
  field, gamma, noise, int16 output).

Cases alternate ``.nii.gz`` and ``.mha`` files and are written once, atomically, into a cache folder; the ISLES
reader then reads them like the real data.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from scipy import ndimage

from medmonai.data.cache import cached_folder
from medmonai.data.synthetic.contrast import synthesize
from medmonai.data.synthetic.lesions import stroke_mask
from medmonai.data.synthetic.phantom import synthetic_labels
from medmonai.data.synthetic.scanner import scanner_effects
from medmonai.data.synthetic.template import generator_version, save_volume
from medmonai.data.synthetic.tissues import Tissues, load_tissues
from medmonai.errors import ConfigError

__all__ = ["embedded_siss"]

_MODALITIES = ("DWI", "Flair", "T1", "T2")
_CONTRASTS = {"DWI": "dwi", "Flair": "flair", "T1": "t1", "T2": "t2"}


def _with_lesion(image: np.ndarray, edge: np.ndarray, modality: str) -> np.ndarray:
    """Stroke signal: x 2.3 on DWI, +0.4 on FLAIR, +0.35 on T2 (of the brightest tissue), x 0.65 on T1."""
    if modality == "DWI":
        return image * (1.0 + 1.3 * edge)
    if modality == "T1":
        return image * (1.0 - 0.35 * edge)
    return image + (0.4 if modality == "Flair" else 0.35) * edge


def _write_case(root: Path, index: int, tissues: Tissues, seed: int) -> dict:
    rng = np.random.default_rng(seed)
    labels, brain = synthetic_labels(tissues, rng)
    lesion, records = stroke_mask(brain, rng)
    edge = ndimage.gaussian_filter(lesion, 0.7)  # soft borders, as partial volume gives
    suffix = ".nii.gz" if index % 2 else ".mha"
    case_dir = root / str(index)
    for j, modality in enumerate(_MODALITIES):
        image, _ = synthesize(labels, _CONTRASTS[modality], rng)
        volume, _ = scanner_effects(_with_lesion(image, edge, modality), brain, rng)
        name = f"VSD.Brain.XX.O.MR_{modality}.{70000 + 10 * index + j}"
        (case_dir / name).mkdir(parents=True)
        save_volume(volume, tissues.affine, case_dir / name / f"{name}{suffix}")
    name = f"VSD.Brain_3more.XX.O.OT.{70000 + 10 * index + 9}"
    (case_dir / name).mkdir(parents=True)
    save_volume(lesion.astype(np.uint8), tissues.affine, case_dir / name / f"{name}{suffix}")
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
        ConfigError: ``n_cases`` < 2, ``resolution`` not 1 or 2, or nilearn missing.
    """
    if n_cases < 2 or resolution not in (1, 2):
        raise ConfigError(f"n_cases must be >= 2 and resolution 1 or 2, got {n_cases} and {resolution}")

    def write(staging: Path) -> None:
        tissues = load_tissues(resolution)
        root = staging / "SISS2015_Training"
        cases = [_write_case(root, i + 1, tissues, seed * 1000 + i) for i in range(n_cases)]
        (staging / "cases.json").write_text(
            json.dumps({"seed": seed, "resolution": resolution, "cases": cases}, indent=1)
        )

    name = f"siss_embedded_{generator_version()}_n{n_cases}_seed{seed}_res{resolution}"
    announce = f"generating {n_cases} embedded SISS cases from the MNI152 template"
    return cached_folder(cache_dir, name, "SISS2015_Training", write, announce) / "SISS2015_Training"
