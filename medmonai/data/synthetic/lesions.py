"""THE TEST LESION GENERATOR: lesions painted into phantom volumes to make labelled test data, never training data.

Models are trained on healthy volumes only; a self-supervised model's training-time anomalies come from a separate
generator elsewhere, and must stay apart from this one, so a model is never tested on the very lesion model it was
trained to find. Both embedded generators draw their lesions here, from one blob routine (:func:`lesion_blob`):

- :func:`add_lesions` (the embedded brain population's test volumes): 1 to 3 irregular blobs of 2 to 8 voxels
  radius inside the eroded brain, one kind per volume, coded in the label volume (``LESION_KINDS``):
  1 hyperintense (DWI-like), 2 hypointense, 3 texture change, 4 local deformation (mass effect: tissue pushed
  radially out of a slightly hypointense core; the core is labelled);
- :func:`stroke_mask` (the embedded ISLES-like cases): 1 to 3 such blobs forming one stroke lesion mask.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from medmonai.data.synthetic.deformation import resample

__all__ = ["LESION_KINDS", "add_lesions", "lesion_blob", "stroke_mask"]

LESION_KINDS = {1: "hyperintense", 2: "hypointense", 3: "texture", 4: "mass_effect"}


def lesion_blob(
    brain: np.ndarray, rng: np.random.Generator, roughness_sigma: float = 1.5
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """An irregular ellipsoid (radii 2 to 8 voxels) centred inside the brain eroded by 6 voxels.

    Args:
        brain: boolean ``(X, Y, Z)`` region the blob must lie in.
        rng: the random generator.
        roughness_sigma: smoothing (voxels) of the noise that makes the outline irregular. Defaults to 1.5.

    Returns:
        ``(mask, centre, radii)``: the boolean blob (within ``brain``), its centre voxel and its three radii.

    Raises:
        ValueError: ``brain`` has no voxel 6 voxels inside its border.
    """
    candidates = np.argwhere(ndimage.binary_erosion(brain, iterations=6))
    if not len(candidates):
        raise ValueError("the brain mask is too small to hold a lesion (nothing 6 voxels inside its border)")
    centre = candidates[rng.integers(len(candidates))]
    radii = rng.uniform(2.0, 8.0, size=3)
    box = tuple(slice(max(int(c - 2 * r), 0), int(c + 2 * r) + 1) for c, r in zip(centre, radii, strict=True))
    grid = np.mgrid[box].astype(np.float32)
    distance = sum(((grid[i] - centre[i]) / radii[i]) ** 2 for i in range(3))
    roughness = ndimage.gaussian_filter(rng.normal(size=distance.shape).astype(np.float32), roughness_sigma)
    mask = np.zeros(brain.shape, bool)
    mask[box] = (distance + 1.5 * roughness) < 1.0
    return mask & brain, centre, radii


def _record(centre: np.ndarray, radii: np.ndarray) -> dict:
    return {"centre_voxel": centre.tolist(), "radii_voxels": [round(float(r), 2) for r in radii]}


def _mass_effect(image: np.ndarray, core: np.ndarray, centre: np.ndarray, radii: np.ndarray) -> np.ndarray:
    """Push tissue radially away from ``centre``: voxels near the core sample from closer to the centre."""
    grid = np.indices(image.shape, dtype=np.float32)
    offset = grid - centre[:, None, None, None]
    distance = np.sqrt((offset**2).sum(0)) + 1e-3
    reach = 2.5 * float(radii.mean())
    push = float(radii.mean()) * np.exp(-((distance / reach) ** 2))  # displacement in voxels, fading outwards
    source = grid - offset / distance * np.minimum(push, distance)
    warped = resample(image[None], source, padding="border")[0]
    return np.where(core, 0.85 * warped, warped).astype(np.float32)


def add_lesions(image: np.ndarray, brain: np.ndarray, kind: int, rng: np.random.Generator) -> tuple:
    """Paint 1 to 3 lesions of one kind into a test volume.

    Args:
        image: float ``(X, Y, Z)`` volume, before scanner effects.
        brain: boolean ``(X, Y, Z)`` brain mask; lesions lie inside it.
        kind: a ``LESION_KINDS`` code: 1 hyperintense (up to 1.25-1.7x the brain's 95th percentile),
            2 hypointense (x 0.35-0.6), 3 texture (multiplicative grain), 4 mass effect.
        rng: the random generator.

    Returns:
        ``(image, label, records)``: the float32 volume with lesions, the uint8 label volume (``kind`` inside the
        lesions, 0 elsewhere) and one ``{"centre_voxel", "radii_voxels"}`` record per lesion.

    Raises:
        ValueError: ``kind`` is not a ``LESION_KINDS`` code, or the brain is too small to hold a lesion.
    """
    if kind not in LESION_KINDS:
        raise ValueError(f"lesion kind must be one of {sorted(LESION_KINDS)}, got {kind}")
    label = np.zeros(image.shape, np.uint8)
    records = []
    white_matter = float(np.percentile(image[brain], 95))
    for _ in range(int(rng.integers(1, 4))):
        blob, centre, radii = lesion_blob(brain & (label == 0), rng)
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
        records.append(_record(centre, radii))
    return image, label, records


def stroke_mask(brain: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, list[dict]]:
    """An ISLES-like stroke lesion mask: the union of 1 to 3 irregular blobs inside the brain.

    Args:
        brain: ``(X, Y, Z)`` brain mask (nonzero inside).
        rng: the random generator.

    Returns:
        ``(mask, records)``: the float32 {0, 1} lesion mask and one ``{"centre_voxel", "radii_voxels"}`` record
        per blob.

    Raises:
        ValueError: the brain is too small to hold a lesion.
    """
    inside = np.asarray(brain) > 0
    lesion = np.zeros(inside.shape, bool)
    records = []
    for _ in range(int(rng.integers(1, 4))):
        blob, centre, radii = lesion_blob(inside, rng, roughness_sigma=2.0)
        lesion |= blob
        records.append(_record(centre, radii))
    return lesion.astype(np.float32), records
