"""The embedded brain-MRI default: a randomised healthy population and lesion test volumes, built from MNI152.

No brain MRI can be downloaded here, so subjects are phantoms made by :mod:`medmonai.data.synthetic` from the
MNI152 T1, brain mask and tissue maps that ship with nilearn (``resolution=2``: 99x117x95 voxels of 2 mm; ``1``
gives 197x233x189). Training and evaluation subjects come from deliberately disjoint settings:

- **training** (healthy): label-synthesised brains (:func:`~medmonai.data.synthetic.synthetic_subject`): a
  multi-scale deformation of strength ``TRAIN_STRENGTH`` (uniform), a crisp label map with individual folds, and
  a random contrast family drawn with ``TRAIN_CONTRASTS`` probabilities (T1-like the most frequent, then T2-,
  FLAIR-, DWI-like and fully random tissue orderings), so no single texture or contrast is learnt;
- **validation** (healthy) **and test** (lesion and healthy): the REAL template T1 intensities
  (:func:`~medmonai.data.synthetic.template_subject`), a texture training never sees, under STRONGER deformations
  (strength ``HELDOUT_STRENGTH``, from 1.6x the training maximum up), each with its own fine-scale folds. Their
  contrast is T1, the bundles' default, while no test anatomy or texture occurs in training;
- every volume gets random scanner effects (:func:`~medmonai.data.synthetic.scanner_effects`: resolution, thick slices,
  blur or sharpening, Gibbs ringing or motion ghosts, bias field, gamma, noise) and is stored as int16; the brain
  mask is warped with the same deformation as its image;
- lesions (test only, :func:`~medmonai.data.synthetic.add_lesions`): 1 to 3 irregular blobs per volume, one kind
  per volume cycling through ``LESION_KINDS`` (1 hyperintense, 2 hypointense, 3 texture, 4 mass effect), coded in
  the label volume.

The data set is written once, atomically, into a cache folder, as a decathlon-style ``dataset.json`` with
``training``, ``validation`` and ``test`` lists of ``{"image", "brain_mask"[, "label", "kind"]}`` paths (NIfTI),
plus ``lesions.json`` (each test volume's lesion kind, centres and radii) and ``subjects.json`` (every subject's
drawn settings, and the training and held-out ranges).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from medmonai.data.cache import cached_folder
from medmonai.data.synthetic.lesions import LESION_KINDS, add_lesions
from medmonai.data.synthetic.phantom import synthetic_subject, template_subject
from medmonai.data.synthetic.scanner import scanner_effects
from medmonai.data.synthetic.template import generator_version, save_volume
from medmonai.data.synthetic.tissues import Tissues, load_tissues
from medmonai.errors import ConfigError

__all__ = ["HELDOUT_STRENGTH", "LESION_KINDS", "TRAIN_CONTRASTS", "TRAIN_STRENGTH", "embedded_brains"]

TRAIN_CONTRASTS = {"t1": 0.4, "t2": 0.15, "flair": 0.15, "dwi": 0.1, "random": 0.2}
TRAIN_STRENGTH = (0.4, 1.0)
HELDOUT_STRENGTH = (1.6, 1.8)


def _anatomy(tissues: Tissues, rng: np.random.Generator, held_out: bool) -> tuple[np.ndarray, np.ndarray, dict]:
    """A training subject (label synthesis, random contrast) or a held-out one (template T1, strong deformation)."""
    if held_out:
        return template_subject(tissues, rng, float(rng.uniform(*HELDOUT_STRENGTH)))
    contrast = str(rng.choice(list(TRAIN_CONTRASTS), p=list(TRAIN_CONTRASTS.values())))
    return synthetic_subject(tissues, rng, contrast, float(rng.uniform(*TRAIN_STRENGTH)))


def _subject(tissues: Tissues, folder: Path, name: str, seed: int, held_out: bool, kind: int) -> dict:
    rng = np.random.default_rng(seed)
    image, mask, settings = _anatomy(tissues, rng, held_out)
    item = {"image": f"{folder.name}/{name}_t1.nii.gz", "brain_mask": f"{folder.name}/{name}_brain.nii.gz"}
    record: dict = {"case": name}
    if kind >= 0:
        label, lesions = np.zeros(image.shape, np.uint8), []
        if kind > 0:
            image, label, lesions = add_lesions(image, mask, kind, rng)
        item["label"] = f"{folder.name}/{name}_label.nii.gz"
        item["kind"] = LESION_KINDS.get(kind, "healthy")
        save_volume(label, tissues.affine, folder / f"{name}_label.nii.gz")
        record.update(kind=item["kind"], lesions=lesions, lesion_voxels=int((label > 0).sum()))
    volume, settings["scanner"] = scanner_effects(image, mask, rng)
    save_volume(volume, tissues.affine, folder / f"{name}_t1.nii.gz")
    save_volume(mask.astype(np.uint8), tissues.affine, folder / f"{name}_brain.nii.gz")
    return {"item": item, "record": record, "settings": {"case": name, "split": folder.name, **settings}}


def _check_counts(n_train: int, n_val: int, n_test_lesion: int, n_test_healthy: int, resolution: int) -> None:
    counts = {"n_train": n_train, "n_val": n_val, "n_test_lesion": n_test_lesion, "n_test_healthy": n_test_healthy}
    bad = {k: v for k, v in counts.items() if v < 1}
    if bad or resolution not in (1, 2):
        raise ConfigError(f"volume counts must be >= 1 and resolution 1 or 2, got {counts} and {resolution}")


def _plan(n_train: int, n_val: int, n_test_lesion: int, n_test_healthy: int) -> list[tuple[str, str, int]]:
    """``(split, name, kind)`` per volume; kind -1: no label volume, 0: healthy test, 1-4: a ``LESION_KINDS`` code."""
    return (
        [("train", f"train_{i:03d}", -1) for i in range(n_train)]
        + [("val", f"val_{i:03d}", -1) for i in range(n_val)]
        + [("test", f"lesion_{i:03d}", 1 + i % 4) for i in range(n_test_lesion)]
        + [("test", f"healthy_{i:03d}", 0) for i in range(n_test_healthy)]
    )


def _ranges() -> dict:
    return {
        "training": {"source": "labels", "contrasts": TRAIN_CONTRASTS, "strength": TRAIN_STRENGTH},
        "held_out": {"source": "template", "contrasts": {"t1": 1.0}, "strength": HELDOUT_STRENGTH},
    }


def embedded_brains(
    cache_dir: str | Path | None = None,
    n_train: int = 40,
    n_val: int = 8,
    n_test_lesion: int = 16,
    n_test_healthy: int = 8,
    seed: int = 0,
    resolution: int = 2,
) -> Path:
    """Return the embedded brain population's ``dataset.json``, generating the data set on first use.

    Args:
        cache_dir: where generated data sets live. Defaults to ``$MEDMONAI_CACHE`` or ``~/.cache/medmonai``.
        n_train: healthy training volumes. Defaults to 40.
        n_val: healthy validation volumes (threshold calibration). Defaults to 8.
        n_test_lesion: test volumes with lesions; kinds cycle 1-4, so 16 gives 4 of each. Defaults to 16.
        n_test_healthy: healthy test volumes (sample-level scoring). Defaults to 8.
        seed: generation seed; each setting has its own folder. Defaults to 0.
        resolution: MNI152 resolution in mm, 1 or 2. Defaults to 2.

    Returns:
        Path of ``dataset.json`` (decathlon style; paths relative to its folder).

    Raises:
        ConfigError: a count < 1, ``resolution`` not 1 or 2, or nilearn missing.
    """
    _check_counts(n_train, n_val, n_test_lesion, n_test_healthy, resolution)
    counts = f"t{n_train}_v{n_val}_l{n_test_lesion}_h{n_test_healthy}"

    def write(staging: Path) -> None:
        tissues = load_tissues(resolution)
        plan = _plan(n_train, n_val, n_test_lesion, n_test_healthy)
        sections = {"train": "training", "val": "validation", "test": "test"}
        dataset: dict = {"name": "medmonai embedded brain population", "seed": seed, "resolution": resolution}
        dataset.update({v: [] for v in sections.values()})
        records, subjects = [], []
        for i, (split, name, kind) in enumerate(plan):
            (staging / split).mkdir(exist_ok=True)
            out = _subject(tissues, staging / split, name, seed * 100_000 + i, split != "train", kind)
            dataset[sections[split]].append(out["item"])
            subjects.append(out["settings"])
            if kind >= 0:
                records.append(out["record"])
        (staging / "lesions.json").write_text(json.dumps({"kinds": LESION_KINDS, "cases": records}, indent=1))
        (staging / "subjects.json").write_text(json.dumps({"ranges": _ranges(), "subjects": subjects}, indent=1))
        (staging / "dataset.json").write_text(json.dumps(dataset, indent=1))

    name = f"brains_{generator_version()}_{counts}_seed{seed}_res{resolution}"
    announce = "generating the embedded brain population from the MNI152 template"
    return cached_folder(cache_dir, name, "dataset.json", write, announce) / "dataset.json"
