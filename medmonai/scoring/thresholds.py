"""Thresholds calibrated on healthy (normal) data only: no test label ever reaches these functions."""

from __future__ import annotations

import numpy as np

from medmonai.errors import ConfigError

__all__ = ["check_fpr", "threshold_at_fpr", "percentile_threshold", "mean_std_threshold"]


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
