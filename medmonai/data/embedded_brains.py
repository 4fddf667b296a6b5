"""The embedded brain-MRI default: a healthy T1 "population" and lesion test volumes, built from the MNI152 template.

No brain MRI can be downloaded here, so subjects are synthesised from the real MNI152 T1 template and brain mask
that ship with nilearn (``resolution=2``: 99x117x95 voxels of 2 mm; ``1`` gives 197x233x189):

- anatomy: a seeded random affine (rotation, scaling, shift) and a smooth elastic displacement per subject.
  Validation and test subjects are drawn with stronger deformations than training subjects, so their anatomy
  lies outside the training variation (one template is all there is offline; see ``docs``);
- scanner: a smooth multiplicative bias field, a gamma change, a global scale and Gaussian noise per volume;
- lesions (test only), 1 to 3 irregular blobs of 2 to 8 voxels radius inside the eroded brain, one kind per
  volume, coded in the label volume: 1 hyperintense (DWI-like), 2 hypointense, 3 texture change,
  4 local deformation (mass effect: tissue pushed radially out of a slightly hypointense core; the core is labelled).

The data set is written once, atomically, into a cache folder, as a decathlon-style ``dataset.json`` with
``training``, ``validation`` and ``test`` lists of ``{"image", "brain_mask"[, "label"]}`` paths (NIfTI), plus
``lesions.json`` recording each test volume's lesion kind, centres and radii.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from scipy import ndimage

from medmonai.data.mni_template import default_cache_dir, load_template, save_volume
from medmonai.errors import ConfigError
from medmonai.utils.outputs import atomic_directory

__all__ = ["LESION_KINDS", "embedded_brains"]

logger = logging.getLogger(__name__)
LESION_KINDS = {1: "hyperintense", 2: "hypointense", 3: "texture", 4: "mass_effect"}


def _smooth_field(shape: tuple[int, ...], rng: np.random.Generator, nodes: int, scale: float) -> np.ndarray:
    """A smooth random field: ``nodes``^3 Gaussian control values, cubic-upsampled (coarse) then trilinear."""
    coarse = rng.normal(scale=scale, size=(nodes,) * 3).astype(np.float32)
    smooth = ndimage.zoom(coarse, 24 / nodes, order=3, mode="nearest")  # cubic where it is cheap
    full = F.interpolate(torch.from_numpy(smooth)[None, None], size=shape, mode="trilinear", align_corners=True)
    return full[0, 0].numpy()


def _resample(volume: np.ndarray, coords: np.ndarray, mode: str = "bilinear", padding: str = "zeros") -> np.ndarray:
    """``(C, X, Y, Z)`` ``volume`` sampled at voxel coordinates ``(3, X, Y, Z)``; torch's grid_sample, ~4x scipy's."""
    size = np.array(volume.shape[1:], np.float32)[:, None, None, None]
    grid = (2.0 * coords / (size - 1.0) - 1.0)[::-1].transpose(1, 2, 3, 0)  # (X, Y, Z, 3) as (z, y, x) in [-1, 1]
    grid = torch.from_numpy(np.ascontiguousarray(grid, dtype=np.float32))[None]
    source = torch.from_numpy(np.ascontiguousarray(volume, dtype=np.float32))[None]
    return F.grid_sample(source, grid, mode=mode, padding_mode=padding, align_corners=True)[0].numpy()


def _deform(t1: np.ndarray, brain: np.ndarray, rng: np.random.Generator, strength: float) -> tuple:
    """Warp template and mask with one random affine plus elastic displacement (a single resampling)."""
    shape = t1.shape
    centre = (np.array(shape) - 1) / 2.0
    angles = rng.uniform(-0.1, 0.1, 3) * strength
    rotation = np.eye(3)
    for axis, angle in enumerate(angles):
        a, b = [i for i in range(3) if i != axis]
        r = np.eye(3)
        r[a, a] = r[b, b] = np.cos(angle)
        r[a, b], r[b, a] = -np.sin(angle), np.sin(angle)
        rotation = rotation @ r
    matrix = rotation * rng.uniform(1 - 0.07 * strength, 1 + 0.07 * strength, 3)
    shift = rng.uniform(-2.0, 2.0, 3) * strength
    grid = np.indices(shape, dtype=np.float32).reshape(3, -1) - centre[:, None]
    coords = (matrix @ grid).reshape(3, *shape) + (centre + shift)[:, None, None, None]
    coords += np.stack([_smooth_field(shape, rng, 5, 2.0 * strength) for _ in range(3)])
    image, mask = _resample(np.stack([t1, brain]), coords)
    return image, mask > 0.5


def _blob(brain: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """An irregular ellipsoid inside the eroded brain; returns (mask, centre, radii)."""
    candidates = np.argwhere(ndimage.binary_erosion(brain, iterations=6))
    centre = candidates[rng.integers(len(candidates))]
    radii = rng.uniform(2.0, 8.0, size=3)
    box = tuple(slice(max(int(c - 2 * r), 0), int(c + 2 * r) + 1) for c, r in zip(centre, radii, strict=True))
    grid = np.mgrid[box].astype(np.float32)
    distance = sum(((grid[i] - centre[i]) / radii[i]) ** 2 for i in range(3))
    roughness = ndimage.gaussian_filter(rng.normal(size=distance.shape).astype(np.float32), 1.5)
    mask = np.zeros(brain.shape, bool)
    mask[box] = (distance + 1.5 * roughness) < 1.0
    return mask & brain, centre, radii


def _mass_effect(image: np.ndarray, core: np.ndarray, centre: np.ndarray, radii: np.ndarray) -> np.ndarray:
    """Push tissue radially away from ``centre``: voxels near the core sample from closer to the centre."""
    grid = np.indices(image.shape, dtype=np.float32)
    offset = grid - centre[:, None, None, None]
    distance = np.sqrt((offset**2).sum(0)) + 1e-3
    reach = 2.5 * float(radii.mean())
    push = float(radii.mean()) * np.exp(-((distance / reach) ** 2))  # displacement in voxels, fading outwards
    source = grid - offset / distance * np.minimum(push, distance)
    warped = _resample(image[None], source, padding="border")[0]
    return np.where(core, 0.85 * warped, warped).astype(np.float32)


def _add_lesions(image: np.ndarray, brain: np.ndarray, kind: int, rng: np.random.Generator) -> tuple:
    label = np.zeros(image.shape, np.uint8)
    records = []
    white_matter = float(np.percentile(image[brain], 95))
    for _ in range(int(rng.integers(1, 4))):
        blob, centre, radii = _blob(brain & (label == 0), rng)
        edge = ndimage.gaussian_filter(blob.astype(np.float32), 0.7)  # soft borders, as partial volume gives
        if kind == 1:
            target = white_matter * rng.uniform(1.25, 1.7)
            image = image + edge * (target - image).clip(0)
        elif kind == 2:
            image = image * (1.0 - edge * rng.uniform(0.4, 0.65))
        elif kind == 3:
            grain = ndimage.gaussian_filter(rng.normal(size=image.shape).astype(np.float32), 0.8)
            image = image * (1.0 + edge * rng.uniform(1.2, 2.0) * grain / grain.std())
        else:
            image = _mass_effect(image, blob, centre, radii)
        label[blob] = kind
        records.append({"centre_voxel": centre.tolist(), "radii_voxels": [round(float(r), 2) for r in radii]})
    return image, label, records


def _scanner(image: np.ndarray, brain: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Bias field, gamma, noise and a global scale; returned as int16 like scanner output."""
    bias = np.exp(_smooth_field(image.shape, rng, 4, 0.12))
    out = np.clip(image * bias, 0.0, None) ** rng.uniform(0.85, 1.18)
    out = out + rng.normal(scale=rng.uniform(0.01, 0.025), size=out.shape).astype(np.float32) * brain
    out = np.clip(out, 0.0, None) * (brain | ndimage.binary_dilation(brain, iterations=2))
    return np.round(out * rng.uniform(800.0, 1600.0)).astype(np.int16)


def _subject(t1, brain, affine, folder: Path, name: str, seed: int, strength: float, kind: int) -> dict:
    rng = np.random.default_rng(seed)
    image, mask = _deform(t1, brain, rng, strength)
    item = {"image": f"{folder.name}/{name}_t1.nii.gz", "brain_mask": f"{folder.name}/{name}_brain.nii.gz"}
    record: dict = {"case": name}
    if kind >= 0:
        label, lesions = np.zeros(image.shape, np.uint8), []
        if kind > 0:
            image, label, lesions = _add_lesions(image, mask, kind, rng)
        item["label"] = f"{folder.name}/{name}_label.nii.gz"
        item["kind"] = LESION_KINDS.get(kind, "healthy")
        save_volume(label, affine, folder / f"{name}_label.nii.gz")
        record.update(kind=LESION_KINDS.get(kind, "healthy"), lesions=lesions, lesion_voxels=int((label > 0).sum()))
    save_volume(_scanner(image, mask, rng), affine, folder / f"{name}_t1.nii.gz")
    save_volume(mask.astype(np.uint8), affine, folder / f"{name}_brain.nii.gz")
    return {"item": item, "record": record}


def _check_counts(n_train: int, n_val: int, n_test_lesion: int, n_test_healthy: int, resolution: int) -> None:
    counts = {"n_train": n_train, "n_val": n_val, "n_test_lesion": n_test_lesion, "n_test_healthy": n_test_healthy}
    bad = {k: v for k, v in counts.items() if v < 1}
    if bad or resolution not in (1, 2):
        raise ConfigError(f"volume counts must be >= 1 and resolution 1 or 2, got {counts} and {resolution}")


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
        ConfigError: a count < 1, or ``resolution`` not 1 or 2.
    """
    _check_counts(n_train, n_val, n_test_lesion, n_test_healthy, resolution)
    cache = Path(cache_dir) if cache_dir else default_cache_dir()
    final = cache / f"brains_v1_t{n_train}_v{n_val}_l{n_test_lesion}_h{n_test_healthy}_seed{seed}_res{resolution}"
    if (final / "dataset.json").is_file():
        return final / "dataset.json"
    logger.info(f"generating the embedded brain population from the MNI152 template into {final}")
    t1, brain, affine = load_template(resolution)
    plan = (
        [("train", f"train_{i:03d}", 1.0, -1) for i in range(n_train)]
        + [("val", f"val_{i:03d}", 1.6, -1) for i in range(n_val)]
        + [("test", f"lesion_{i:03d}", 1.6, 1 + i % 4) for i in range(n_test_lesion)]
        + [("test", f"healthy_{i:03d}", 1.6, 0) for i in range(n_test_healthy)]
    )
    sections = {"train": "training", "val": "validation", "test": "test"}
    dataset: dict = {"name": "medmonai embedded brain population", "seed": seed, "resolution": resolution}
    dataset.update({v: [] for v in sections.values()})
    records = []
    with atomic_directory(final) as staging:  # a half-written data set is never visible
        for i, (split, name, strength, kind) in enumerate(plan):
            (staging / split).mkdir(exist_ok=True)
            out = _subject(t1, brain, affine, staging / split, name, seed * 100_000 + i, strength, kind)
            dataset[sections[split]].append(out["item"])
            if kind >= 0:
                records.append(out["record"])
        (staging / "lesions.json").write_text(json.dumps({"kinds": LESION_KINDS, "cases": records}, indent=1))
        (staging / "dataset.json").write_text(json.dumps(dataset, indent=1))
    return final / "dataset.json"
