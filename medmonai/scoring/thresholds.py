"""Thresholds calibrated on healthy (normal) data only: no test label ever reaches these functions."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from medmonai.errors import ConfigError

__all__ = [
    "check_fpr",
    "check_ml",
    "optional_ml",
    "threshold_at_fpr",
    "threshold_at_fp_volume",
    "percentile_threshold",
    "mean_std_threshold",
]


def check_fpr(fpr: float, name: str = "fpr") -> float:
    """``fpr`` as a float, if it is a false-positive rate in (0, 1).

    Args:
        fpr: the rate.
        name: its name in the error (a config id such as ``target_fpr``). Defaults to ``"fpr"``.

    Raises:
        ConfigError: ``fpr`` is not a number in (0, 1).
    """
    if isinstance(fpr, bool) or not isinstance(fpr, (int, float)) or not 0.0 < fpr < 1.0:
        raise ConfigError(f"{name} must be in (0, 1), got {fpr!r}")
    return float(fpr)


def check_ml(ml: float, name: str = "max_fp_ml") -> float:
    """``ml`` as a float, if it is a positive volume in millilitres.

    Raises:
        ConfigError: ``ml`` is not a positive number, naming ``name`` (a config id).
    """
    if isinstance(ml, bool) or not isinstance(ml, (int, float)) or not ml > 0 or not np.isfinite(ml):
        raise ConfigError(f"{name} must be a positive number of ml, got {ml!r}")
    return float(ml)


def optional_ml(value: Any, name: str = "max_fp_ml") -> float | None:
    """:func:`check_ml`, or None when not set (None, or ``null``/``none`` as a command line gives it)."""
    if value is None or (isinstance(value, str) and value.strip().lower() in ("null", "none", "")):
        return None
    return check_ml(value, name)


def threshold_at_fpr(healthy_scores: np.ndarray, fpr: float = 0.01) -> float:
    """The score above which a fraction ``fpr`` of healthy scores lies (the ``1 - fpr`` quantile).

    Args:
        healthy_scores: scores of healthy voxels or images, any shape.
        fpr: target false-positive rate on healthy data, in (0, 1). Defaults to 0.01.

    Raises:
        ConfigError: ``fpr`` outside (0, 1), or no scores.
    """
    return percentile_threshold(healthy_scores, 100.0 * (1.0 - check_fpr(fpr)))


def percentile_threshold(healthy_scores: np.ndarray, percentile: float = 95.0) -> float:
    """The ``percentile``-th percentile of healthy scores (linear interpolation).

    Raises:
        ConfigError: ``percentile`` outside [0, 100], or no scores.
    """
    scores = np.asarray(healthy_scores, np.float64).ravel()
    if scores.size == 0 or not 0.0 <= percentile <= 100.0:
        raise ConfigError(f"need healthy scores and a percentile in [0, 100], got {scores.size} and {percentile}")
    return float(np.percentile(scores, percentile))


def mean_std_threshold(healthy_scores: np.ndarray, k: float = 2.0) -> float:
    """``mean + k * std`` of healthy scores (reference 004's rule, with k = 2).

    Raises:
        ConfigError: no scores.
    """
    scores = np.asarray(healthy_scores, np.float64).ravel()
    if scores.size == 0:
        raise ConfigError("need healthy scores to calibrate a threshold")
    return float(scores.mean() + k * scores.std())


def threshold_at_fp_volume(
    healthy_maps: Sequence[np.ndarray],
    regions: Sequence[np.ndarray],
    voxel_ml: Sequence[float],
    max_fp_ml: float,
    segment: Callable[[np.ndarray, np.ndarray, float], np.ndarray],
) -> float:
    """The lowest threshold at which no healthy volume has more than ``max_fp_ml`` segmented.

    Every segmented voxel of a healthy volume is a false positive, so this calibrates the segmentation at the level a
    reader judges it (millilitres per scan, after small components are dropped) rather than at a share of voxels,
    which marks that share of every healthy brain by construction. The segmented volume can only shrink as the
    threshold rises (a voxel kept at a higher threshold lies in a component at least as large at a lower one), so
    a bisection over the healthy in-region values finds the exact lowest such value.

    Args:
        healthy_maps: per healthy volume, its ``(X, Y, Z)`` map.
        regions: per healthy volume, its bool evaluation region.
        voxel_ml: per healthy volume, one voxel's volume in ml.
        max_fp_ml: the most a healthy volume may have segmented, in ml; > 0.
        segment: ``segment(map, region, threshold)`` -> bool segmentation (e.g. ``MapPostprocessor.segment``, which
            drops small components).

    Raises:
        ConfigError: ``max_fp_ml`` not a positive number, or no healthy volumes.
    """
    max_fp_ml = check_ml(max_fp_ml)
    if not healthy_maps:
        raise ConfigError("need healthy volumes to calibrate a threshold")
    volumes = list(zip(healthy_maps, regions, voxel_ml, strict=True))

    def holds(threshold: float) -> bool:
        return all(segment(m, r, threshold).sum() * ml <= max_fp_ml for m, r, ml in volumes)

    candidates = np.unique(np.concatenate([np.asarray(m)[r].ravel() for m, r, _ in volumes]).astype(np.float64))
    low, high = 0, len(candidates) - 1  # the top value segments nothing (strictly above it), so it always holds
    while low < high:
        middle = (low + high) // 2
        if holds(float(candidates[middle])):
            high = middle
        else:
            low = middle + 1
    return float(candidates[high])
