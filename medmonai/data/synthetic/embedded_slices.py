"""The embedded 2-D brain default: SYNTHETIC axial slices of a phantom population, several contrasts per subject.

No brain MRI can be downloaded here, so the 2-D (GAN) default is made from the same generator as the embedded
brain population (:mod:`medmonai.data.synthetic`, nilearn's MNI152 anatomy at 2 mm): per subject one random
deformation (strength drawn from ``TRAIN_STRENGTH``) and one crisp, individually folded label map
(:func:`~medmonai.data.synthetic.label_map`), imaged in every contrast of ``contrasts``
(:func:`~medmonai.data.synthetic.synthesize`), so the channels of one subject are anatomically aligned (its T1
and T2 show one brain). Only a slab around the central 30% of the brain's axial extent (``BAND``) is synthesised,
and about ``SLICES_PER_SUBJECT`` slices of that band are kept per subject, so the default set is made in seconds.

Test lesions come from THE TEST LESION GENERATOR (:func:`~medmonai.data.synthetic.add_lesions`, kinds 1-4 cycling
per subject), painted in 3-D into every contrast from one draw (the same lesion in each) and placed inside the
band; the slices kept are those through a lesion, whose resized mask is not empty.

Each slice is cropped to a square around the subject's brain (the bounding box over the band, the same for all
its slices and contrasts), resized to ``image_size`` (bilinear) and written as an 8-bit PNG per contrast: the
brain's 99.5th intensity percentile (healthy, before lesions) maps to 200, leaving room for brighter lesions.
A subject lies in one split only. The folder holds::

    train/ val/ test/              <subject>_z<slice>_<contrast>.png, and <subject>_z<slice>_mask.png for lesions
    train.csv val.csv test.csv     subject_id, <one column per contrast>, label (0 healthy, 1 lesion), mask
    dataset.json                   the same lists, decathlon style ("training", "validation", "test")
    subjects.json                  every subject's split, drawn settings, lesion kind and records, slices

Paths are relative to the folder; :func:`medmonai.data.image_set` reads the CSVs with ``channels=contrasts``.
Numbers measured on it show that a workflow runs and finds the phantoms' lesions; they say nothing about real MRI.
"""

from __future__ import annotations

import csv
import io
import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from medmonai.data.cache import cached_folder
from medmonai.data.synthetic.contrast import CONTRASTS, label_map, synthesize
from medmonai.data.synthetic.deformation import random_coordinates, resample
from medmonai.data.synthetic.embedded_brains import TRAIN_STRENGTH
from medmonai.data.synthetic.lesions import LESION_KINDS, add_lesions
from medmonai.data.synthetic.template import generator_version
from medmonai.data.synthetic.tissues import Tissues, load_tissues
from medmonai.errors import ConfigError

__all__ = ["BAND", "SLICES_PER_SUBJECT", "embedded_brain_slices"]

BAND = (0.35, 0.65)  # the slices kept: this fraction of the brain's axial extent, from its bottom
SLICES_PER_SUBJECT = 10  # at most, per subject
_MARGIN = 8  # slices synthesised beyond the band on each side (filters and the mass effect reach past its edge)
_PAD = 2  # voxels around the brain's bounding box
_MIN_LESION_VOXELS = 10  # a lesion slice shows at least this much lesion (40 mm² at 2 mm)
_WHITE = 200  # the grey value of the brain's 99.5th percentile
_SPLITS = {"train": "training", "val": "validation", "test": "test"}
_LESION_ATTEMPTS = 4  # lesion subjects tried per lesion slice asked for, at most (one or two suffice)


@dataclass
class _Subject:
    """One phantom subject's slab of axial slices: images per contrast, brain, lesion and where to cut."""

    images: dict[str, np.ndarray]  # float32 (X, Y, Z) per contrast, about [0, 1]
    lesion: np.ndarray | None  # boolean (X, Y, Z), or None for a healthy subject
    band: range  # slab slices in the central band
    first_slice: int  # the slab's first slice on the template grid
    corner: tuple[int, int]  # (x, y) of the square crop around the brain
    side: int  # the crop's side in voxels
    scale: dict[str, float]  # per contrast, the healthy brain's 99.5th percentile
    settings: dict


def _synthesize(tissues: Tissues, rng: np.random.Generator, contrasts: tuple[str, ...], kind: int) -> _Subject:
    """A subject: deformation, label map and images of the slab around the band; lesions of ``kind`` if > 0."""
    strength = float(rng.uniform(*TRAIN_STRENGTH))
    coords = random_coordinates(tissues.shape, rng, strength, tissues.voxel_mm)
    outline = resample(tissues.brain[None], np.ascontiguousarray(coords[:, ::3, ::3, :]))[0] > 0.5
    low, high = (int(z) for z in np.flatnonzero(outline.any((0, 1)))[[0, -1]])
    band = tuple(low + round(f * (high - low + 1)) for f in BAND)
    first, last = max(band[0] - _MARGIN, 0), min(band[1] + _MARGIN, tissues.shape[2])
    warped = resample(tissues.probabilities, np.ascontiguousarray(coords[..., first:last]))
    brain = warped.sum(0) > 0.5  # the probabilities sum to the brain mask
    labels = label_map(warped, brain, rng, tissues.voxel_mm)
    images, drawn = {}, {}
    for contrast in contrasts:  # one anatomy, every contrast
        images[contrast], drawn[contrast] = synthesize(labels, contrast, rng)
    in_band = np.zeros(brain.shape, bool)
    in_band[..., band[0] - first : band[1] - first] = True
    scale = {c: max(float(np.percentile(image[brain & in_band], 99.5)), 1e-6) for c, image in images.items()}
    settings: dict = {"strength": round(strength, 4), "contrasts": drawn, "kind": LESION_KINDS.get(kind, "healthy")}
    lesion = None
    if kind > 0:  # one lesion draw painted into every contrast: the same blobs, intensity factors and warp
        lesion_seed = int(rng.integers(2**63))
        for contrast in contrasts:
            images[contrast], label, settings["lesions"] = add_lesions(
                images[contrast], brain & in_band, kind, np.random.default_rng(lesion_seed)
            )
        lesion = label > 0
    area = (brain & in_band).any(2)
    (x0, x1), (y0, y1) = ((int(i.min()), int(i.max())) for i in np.nonzero(area))
    side = max(x1 - x0, y1 - y0) + 1 + 2 * _PAD
    corner = (round((x0 + x1 - side + 1) / 2), round((y0 + y1 - side + 1) / 2))
    slab_band = range(band[0] - first, band[1] - first)
    return _Subject(images, lesion, slab_band, first, corner, side, scale, settings)


def _square(subject: _Subject, volume: np.ndarray, z: int, size: int) -> np.ndarray:
    """Slice ``z`` of ``volume`` cropped to the subject's square (zero outside), upright, resized (bilinear)."""
    crop = np.zeros((subject.side, subject.side), np.float32)
    (cx, cy), plane = subject.corner, volume[:, :, z]
    xs = slice(max(cx, 0), min(cx + subject.side, plane.shape[0]))
    ys = slice(max(cy, 0), min(cy + subject.side, plane.shape[1]))
    crop[xs.start - cx : xs.stop - cx, ys.start - cy : ys.stop - cy] = plane[xs, ys]
    upright = np.ascontiguousarray(np.flipud(crop.T))  # rows from anterior (top) to posterior, as usual
    return np.asarray(Image.fromarray(upright, mode="F").resize((size, size), Image.BILINEAR), np.float32)


def _png(pixels: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(pixels.astype(np.uint8)).save(buffer, format="PNG")
    return buffer.getvalue()


def _lesion_slices(subject: _Subject, size: int) -> dict[int, np.ndarray]:
    """The band's slices through the lesion: ``{z: resized mask}``, each with lesion pixels after resizing."""
    found = {}
    for z in subject.band:
        if int(subject.lesion[:, :, z].sum()) >= _MIN_LESION_VOXELS:
            mask = _square(subject, subject.lesion.astype(np.float32), z, size) >= 0.5
            if mask.any():
                found[z] = mask
    return found


def _spread(choices: list[int], count: int) -> list[int]:
    """Up to ``count`` of ``choices``, evenly spread over them."""
    if count >= len(choices):
        return list(choices)
    return [choices[int(i)] for i in np.unique(np.linspace(0, len(choices) - 1, count).round())]


def _write_slices(
    staging: Path, split: str, name: str, subject: _Subject, slices: dict, size: int, label: int
) -> list[dict]:
    """Write the chosen slices' PNGs (and masks); returns their manifest rows (paths relative to ``staging``)."""
    rows = []
    for z, mask in slices.items():
        stem = f"{split}/{name}_z{subject.first_slice + z:03d}"
        row: dict = {"subject_id": name}
        for contrast, volume in subject.images.items():
            pixels = np.clip(_square(subject, volume, z, size) * (_WHITE / subject.scale[contrast]), 0, 255).round()
            (staging / f"{stem}_{contrast}.png").write_bytes(_png(pixels))
            row[contrast] = f"{stem}_{contrast}.png"
        row["label"], row["mask"] = label, ""
        if mask is not None:
            (staging / f"{stem}_mask.png").write_bytes(_png(mask * 255))
            row["mask"] = f"{stem}_mask.png"
        rows.append(row)
    return rows


def _per_subject(total: int) -> list[int]:
    """``total`` slices shared as evenly as possible among ``ceil(total / SLICES_PER_SUBJECT)`` subjects."""
    subjects = math.ceil(total / SLICES_PER_SUBJECT)
    return [total // subjects + (i < total % subjects) for i in range(subjects)]


def _check(image_size: int, counts: dict[str, int], contrasts: tuple[str, ...]) -> None:
    bad = {k: v for k, v in counts.items() if v < 1}
    if bad or image_size < 8:
        raise ConfigError(f"slice counts must be >= 1 and image_size >= 8, got {counts} and {image_size}")
    unknown = [c for c in contrasts if c not in CONTRASTS]
    if unknown or not contrasts or len(set(contrasts)) != len(contrasts):
        raise ConfigError(f"contrasts must be distinct names among {list(CONTRASTS)}, got {list(contrasts)}")


def _manifest(rows: list[dict], contrasts: tuple[str, ...]) -> bytes:
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=["subject_id", *contrasts, "label", "mask"], lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return text.getvalue().encode()


def _generate(staging: Path, size: int, counts: dict[str, int], contrasts: tuple[str, ...], seed: int) -> dict:
    """Write every split's slices into ``staging``; returns ``{split: rows}`` and the subjects' records."""
    tissues = load_tissues(2)
    rows: dict[str, list[dict]] = {split: [] for split in _SPLITS}
    subjects = []
    plan = [("train", "train", counts["n_train"]), ("val", "val", counts["n_val"])]
    plan.append(("test", "healthy", counts["n_test_healthy"]))
    for code, (split, prefix, total) in enumerate(plan):
        (staging / split).mkdir(exist_ok=True)
        for i, count in enumerate(_per_subject(total)):
            subject = _synthesize(tissues, np.random.default_rng([seed, code, i]), contrasts, 0)
            chosen = {z: None for z in _spread(list(subject.band), count)}
            rows[split] += _write_slices(staging, split, f"{prefix}_{i:03d}", subject, chosen, size, 0)
            subjects.append({"subject_id": f"{prefix}_{i:03d}", "split": split, **subject.settings})
            subjects[-1]["slices"] = [subject.first_slice + z for z in chosen]
    needed, i = counts["n_test_lesion"], 0
    while needed > 0:
        if i >= _LESION_ATTEMPTS * counts["n_test_lesion"]:
            raise RuntimeError(f"lesion subjects showed too few lesion slices after {i} subjects")
        kind = 1 + i % len(LESION_KINDS)
        subject = _synthesize(tissues, np.random.default_rng([seed, len(plan), i]), contrasts, kind)
        found = _lesion_slices(subject, size)
        chosen = {z: found[z] for z in _spread(sorted(found), min(needed, SLICES_PER_SUBJECT))}
        if chosen:
            rows["test"] += _write_slices(staging, "test", f"lesion_{i:03d}", subject, chosen, size, 1)
            subjects.append({"subject_id": f"lesion_{i:03d}", "split": "test", **subject.settings})
            subjects[-1]["slices"] = [subject.first_slice + z for z in chosen]
        needed, i = needed - len(chosen), i + 1
    return {"rows": rows, "subjects": subjects}


def embedded_brain_slices(
    cache_dir: str | Path | None = None,
    image_size: int = 64,
    n_train: int = 400,
    n_val: int = 60,
    n_test_healthy: int = 60,
    n_test_lesion: int = 60,
    contrasts: tuple[str, ...] | list[str] | str = ("t1", "t2"),
    seed: int = 0,
) -> Path:
    """Return the folder of the embedded synthetic brain slices, generating it on first use.

    Args:
        cache_dir: where generated data sets live. Defaults to ``$MEDMONAI_CACHE`` or ``~/.cache/medmonai``.
        image_size: height and width of the slices, >= 8. Defaults to 64.
        n_train: healthy training slices (about ``SLICES_PER_SUBJECT`` per subject). Defaults to 400.
        n_val: healthy validation slices. Defaults to 60.
        n_test_healthy: healthy test slices. Defaults to 60.
        n_test_lesion: test slices through a lesion; lesion kinds cycle 1-4 per subject. Defaults to 60.
        contrasts: contrast families of :data:`~medmonai.data.synthetic.CONTRASTS`, one PNG channel each, all of
            one anatomy per subject. Defaults to ("t1", "t2").
        seed: generation seed; each setting has its own folder. Defaults to 0.

    Returns:
        The folder holding ``train.csv``, ``val.csv``, ``test.csv``, ``dataset.json``, ``subjects.json`` and the
        ``train/``, ``val/``, ``test/`` PNGs (see the module docstring).

    Raises:
        ConfigError: a count < 1, ``image_size`` < 8, an unknown or repeated contrast, or nilearn missing.
    """
    contrasts = (contrasts,) if isinstance(contrasts, str) else tuple(str(c) for c in contrasts)
    counts = {"n_train": n_train, "n_val": n_val, "n_test_healthy": n_test_healthy, "n_test_lesion": n_test_lesion}
    _check(image_size, counts, contrasts)
    setting = f"s{image_size}_t{n_train}_v{n_val}_h{n_test_healthy}_l{n_test_lesion}_{'-'.join(contrasts)}"

    def write(staging: Path) -> None:
        made = _generate(staging, image_size, counts, contrasts, seed)
        for split, rows in made["rows"].items():
            (staging / f"{split}.csv").write_bytes(_manifest(rows, contrasts))
        dataset = {
            "name": "medmonai embedded brain slices (SYNTHETIC phantoms from the MNI152 template)",
            "synthetic": True,
            "seed": seed,
            "image_size": image_size,
            "contrasts": list(contrasts),
        }
        for split, section in _SPLITS.items():
            dataset[section] = [
                {"image": [row[c] for c in contrasts], **{k: row[k] for k in ("subject_id", "label", "mask")}}
                for row in made["rows"][split]
            ]
        (staging / "dataset.json").write_text(json.dumps(dataset, indent=1))
        subjects = {"band": BAND, "kinds": LESION_KINDS, "subjects": made["subjects"]}
        (staging / "subjects.json").write_text(json.dumps(subjects, indent=1))

    name = f"brain_slices_{generator_version()}_{setting}_seed{seed}"
    announce = "generating the embedded synthetic brain slices from the MNI152 template"
    return cached_folder(cache_dir, name, "dataset.json", write, announce)
