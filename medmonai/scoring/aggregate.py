"""Image-level scores from voxel maps."""

from __future__ import annotations

import numpy as np

from medmonai.errors import ConfigError

__all__ = ["IMAGE_SCORES", "image_score"]

IMAGE_SCORES = ("mean", "max", "percentile")


def image_score(values: np.ndarray, method: str = "percentile", percentile: float = 99.0) -> float:
    """Aggregate the map values of one image (already restricted to its evaluation region) into one score.

    Args:
        values: map values inside the region, any shape.
        method: ``"mean"``, ``"max"`` or ``"percentile"``. Defaults to ``"percentile"``.
        percentile: the percentile for ``"percentile"``, in [0, 100]. Defaults to 99.

    Returns:
        The score; NaN for an empty region.

    Raises:
        ConfigError: unknown ``method`` or ``percentile`` outside [0, 100].
    """
    if method not in IMAGE_SCORES or not 0.0 <= percentile <= 100.0:
        raise ConfigError(f"image score must be one of {IMAGE_SCORES} with percentile in [0, 100], got {method!r}")
    values = np.asarray(values, np.float64).ravel()
    if values.size == 0:
        return float("nan")
    if method == "mean":
        return float(values.mean())
    if method == "max":
        return float(values.max())
    return float(np.percentile(values, percentile))
