"""SynthSeg-style images from tissue labels: a crisp, folded label map per subject, random intensities per tissue.

1. :func:`label_map`: the argmax of the (deformed) CSF, cortical GM, WM and deep GM probabilities after
   perturbing CSF and WM with fine random fields, so tissue boundaries are crisp and individual instead of the
   template's 152-subject blur; then sulci (thin CSF sheets) and gyral white-matter cores are carved into the
   cortex along the zero set of another random field, so each subject's folds are its own;
2. :func:`tissue_intensities`: a random mean and standard deviation per tissue, ordered as the contrast family
   orders them (``CONTRASTS``): ``"t1"`` WM > GM > CSF, ``"t2"`` CSF > GM > WM, ``"flair"`` GM > WM > CSF
   (suppressed fluid), ``"dwi"`` GM ~ WM with dark CSF (low contrast), ``"random"`` any order; deep grey matter
   (basal ganglia, thalami) lies between GM and WM;
3. :func:`synthesize`: each voxel drawn from its tissue's Gaussian, then a partial-volume blur of random width.

Intensities are fractions of the brightest tissue (about [0, 1]); the background (label 0) is 0. The blur uses
``scipy.ndimage.gaussian_filter`` (MONAI's ``GaussianSmooth`` gives the same, several times slower on CPU).
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from scipy import ndimage

__all__ = ["CONTRASTS", "label_map", "synthesize", "tissue_intensities"]

_MEANS = {  # (low, high) of the mean intensity of CSF, GM and WM
    "t1": ((0.08, 0.28), (0.45, 0.62), (0.74, 0.95)),
    "t2": ((0.80, 1.00), (0.48, 0.66), (0.28, 0.42)),
    "flair": ((0.03, 0.15), (0.64, 0.88), (0.40, 0.54)),
    "dwi": ((0.05, 0.22), (0.56, 0.66), (0.48, 0.58)),
    "random": ((0.03, 1.00),) * 3,
}
CONTRASTS = tuple(_MEANS)
_STD = (0.01, 0.05)  # within-tissue standard deviation (texture), fraction of the brightest tissue
_BLUR = (0.45, 0.75)  # partial-volume blur sigma in voxels (a 2-voxel-FWHM point-spread function, about)
_DEEP_GM = (0.25, 0.6)  # deep GM's mean, as a fraction of the way from the GM mean to the WM mean
_FOLD_MM = 4.0  # grid of the folding field (its zero set's sheets lie some 8 mm apart)
_SULCUS, _GYRAL_CORE = 0.25, 1.5  # |fold field| (unit std) below: sulcal CSF; above, next to WM: gyral WM core


def _noise(shape: tuple[int, ...], rng: np.random.Generator, grain: float, channels: int = 1) -> np.ndarray:
    """Unit-variance random field ``(channels, *shape)`` with a correlation length of about ``2 * grain`` voxels."""
    coarse = tuple(max(int(np.ceil(s / grain)), 2) for s in shape)
    values = ndimage.gaussian_filter(
        rng.standard_normal((channels, *coarse), dtype=np.float32), (0, 1, 1, 1), truncate=2.5
    )
    values /= max(float(values.std()), 1e-6)
    return F.interpolate(torch.from_numpy(values)[None], size=shape, mode="trilinear", align_corners=True)[0].numpy()


def _fold_cortex(labels: np.ndarray, fold: np.ndarray, voxel_mm: float) -> np.ndarray:
    """Carve individual sulci and gyral white-matter cores into the cortical grey matter (label 2).

    The template's cortex is a thick blur of many subjects' folds. Here the zero set of the random field ``fold``
    (a labyrinth of thin sheets some 8 mm apart) becomes sulcal CSF where it crosses cortical GM, and cortical GM
    far from that set but next to white matter becomes WM (gyral cores).
    """
    fold = np.abs(fold)
    near_wm = ndimage.gaussian_filter((labels == 3).astype(np.float32), 2.0 / voxel_mm, truncate=2.0) > 0.05
    cortex = labels == 2
    out = labels.copy()
    out[cortex & (fold < _SULCUS)] = 1
    out[cortex & (fold > _GYRAL_CORE) & near_wm] = 3
    return out


def label_map(
    probabilities: np.ndarray,
    brain: np.ndarray,
    rng: np.random.Generator,
    voxel_mm: float = 2.0,
    roughness: float = 0.15,
    csf_gain: tuple[float, float] = (1.0, 2.0),
) -> np.ndarray:
    """A crisp, individually folded tissue label map from (deformed) template tissue probabilities.

    The CSF and WM probabilities are perturbed by fine random fields (~8 mm correlation) and the CSF one
    multiplied by a random gain (wider sulci and ventricles, as with age), then the argmax taken inside the brain.
    Sulci and gyral white-matter cores are then carved into the cortex (:func:`_fold_cortex`), so every subject's
    folds differ.

    Args:
        probabilities: float ``(4, X, Y, Z)`` CSF, cortical GM, WM and deep GM probabilities (e.g. the deformed
            template's, see :class:`~medmonai.data.synthetic.tissues.Tissues`).
        brain: boolean ``(X, Y, Z)`` brain mask; voxels outside are background (0).
        rng: the random generator.
        voxel_mm: voxel size in mm (the folds' size is set in mm). Defaults to 2.0.
        roughness: standard deviation of the perturbations (probabilities are in [0, 1]). Defaults to 0.15.
        csf_gain: range of the random factor on the CSF probability. Defaults to (1.0, 2.0).

    Returns:
        uint8 ``(X, Y, Z)`` labels (``TISSUE_LABELS``): 0 background, 1 CSF, 2 cortical GM, 3 WM, 4 deep GM.

    Raises:
        ValueError: ``probabilities`` does not hold 4 maps of ``brain``'s shape.
    """
    brain = np.asarray(brain, bool)
    if probabilities.shape != (4, *brain.shape):
        raise ValueError(f"expected (4, {brain.shape}) probabilities, got {probabilities.shape}")
    fields = _noise(brain.shape, rng, _FOLD_MM / voxel_mm, channels=3)  # CSF and WM perturbations; folds
    scores = probabilities.copy()
    scores[0] += fields[0] * np.float32(roughness) + probabilities[0] * np.float32(rng.uniform(*csf_gain) - 1.0)
    scores[2] += fields[1] * np.float32(roughness)
    labels = np.argmax(scores, axis=0).astype(np.uint8) + 1
    labels[~brain] = 0
    return _fold_cortex(labels, fields[2], voxel_mm)


def tissue_intensities(contrast: str, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Draw a mean and a standard deviation per label for a contrast family.

    Args:
        contrast: one of ``CONTRASTS``.
        rng: the random generator.

    Returns:
        ``(means, stds)``: float32 arrays indexed by label (background, CSF, GM, WM, deep GM); the background's
        are 0, deep GM's mean lies between the GM and WM means.

    Raises:
        ValueError: unknown ``contrast``.
    """
    if contrast not in _MEANS:
        raise ValueError(f"contrast must be one of {CONTRASTS}, got {contrast!r}")
    csf, gm, wm = (rng.uniform(low, high) for low, high in _MEANS[contrast])
    deep = gm + rng.uniform(*_DEEP_GM) * (wm - gm)
    stds = [0.0, *rng.uniform(*_STD, size=4)]
    return np.asarray([0.0, csf, gm, wm, deep], np.float32), np.asarray(stds, np.float32)


def synthesize(labels: np.ndarray, contrast: str, rng: np.random.Generator) -> tuple[np.ndarray, dict]:
    """An image of ``labels`` in a random contrast of the family: Gaussian tissue intensities, partial-volume blur.

    Args:
        labels: uint8 ``(X, Y, Z)`` labels as :func:`label_map` makes them.
        contrast: one of ``CONTRASTS``.
        rng: the random generator.

    Returns:
        ``(image, settings)``: float32 ``(X, Y, Z)`` about [0, 1], and the drawn ``contrast``, ``means``,
        ``stds`` (per label) and ``blur_sigma`` (voxels).

    Raises:
        ValueError: unknown ``contrast``.
    """
    means, stds = tissue_intensities(contrast, rng)
    image = means[labels] + stds[labels] * rng.standard_normal(labels.shape, dtype=np.float32)
    sigma = float(rng.uniform(*_BLUR))
    image = ndimage.gaussian_filter(image, sigma, truncate=3.0)
    settings = {
        "contrast": contrast,
        "means": [round(float(m), 4) for m in means],
        "stds": [round(float(s), 4) for s in stds],
        "blur_sigma": round(sigma, 3),
    }
    return np.clip(image, 0.0, None), settings
