"""Piecewise-linear histogram standardisation to landmarks of a reference population (Nyul and Udupa style)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence

import numpy as np
from monai.config import NdarrayOrTensor
from monai.transforms import Transform
from monai.utils import TransformBackends, convert_to_dst_type, convert_to_numpy

from medmonai.errors import ConfigError, DataError
from medmonai.keys import Keys
from medmonai.utils.flags import as_flag

__all__ = ["LANDMARK_PERCENTILES", "LandmarkStandardize", "fit_landmarks"]

LANDMARK_PERCENTILES = (2.0, 10.0, 20.0, 30.0, 40.0, 50.0, 60.0, 70.0, 80.0, 90.0, 98.0)


def _landmarks(volume: np.ndarray, mask: np.ndarray, percentiles: Sequence[float]) -> np.ndarray:
    values = volume[mask]
    if values.size == 0:
        raise DataError("landmark standardisation needs a nonempty brain mask")
    return np.percentile(values, percentiles)


class LandmarkStandardize(Transform):
    """Map a volume's brain percentiles onto standard landmarks, piecewise linearly.

    Between the first and last landmark the mapping is piecewise linear; beyond them it continues with the end
    segments' slopes, so a lesion brighter than any healthy tissue stays brighter. Landmarks come from healthy
    volumes only (:func:`fit_landmarks`).

    Args:
        landmarks: standard values at ``percentiles`` (increasing).
        percentiles: brain percentiles the landmarks stand for. Defaults to :data:`LANDMARK_PERCENTILES`.

    Raises:
        ConfigError: lengths differ or the landmarks do not increase.
    """

    backend = [TransformBackends.NUMPY]

    def __init__(self, landmarks: Sequence[float], percentiles: Sequence[float] = LANDMARK_PERCENTILES) -> None:
        self.landmarks = np.asarray(landmarks, np.float64)
        self.percentiles = tuple(float(p) for p in percentiles)
        if self.landmarks.shape != (len(self.percentiles),) or np.any(np.diff(self.landmarks) <= 0):
            raise ConfigError(
                f"landmarks must be {len(self.percentiles)} increasing values, got {self.landmarks.tolist()}"
            )

    def __call__(self, img: NdarrayOrTensor, mask: NdarrayOrTensor) -> NdarrayOrTensor:
        """Standardise a ``(1, X, Y, Z)`` volume given its ``(1, X, Y, Z)`` brain mask; float32, same type."""
        volume = convert_to_numpy(img, dtype=np.float32)
        own = np.maximum.accumulate(_landmarks(volume, convert_to_numpy(mask) > 0, self.percentiles))
        own = own + np.arange(own.size) * 1e-6  # strictly increasing for interpolation
        out = np.interp(volume, own, self.landmarks)
        low = (self.landmarks[1] - self.landmarks[0]) / (own[1] - own[0])
        high = (self.landmarks[-1] - self.landmarks[-2]) / (own[-1] - own[-2])
        out = np.where(volume < own[0], self.landmarks[0] + (volume - own[0]) * low, out)
        out = np.where(volume > own[-1], self.landmarks[-1] + (volume - own[-1]) * high, out)
        out = np.where(volume == 0, 0.0, out)  # the masked background stays 0
        return convert_to_dst_type(out.astype(np.float32), img, dtype=np.float32)[0]


def fit_landmarks(
    items: Iterable[dict] | Mapping[str, list], transform: Callable[[dict], dict], enabled: bool | str = True
) -> list | None:
    """Standard landmarks: the mean over healthy ``items`` of their brain percentiles after ``transform``.

    Args:
        items: healthy datalist items, or datalists by split, whose ``val`` split (the healthy validation volumes)
            is used.
        transform: loads and normalises one item into ``image`` and ``brain_mask`` arrays.
        enabled: False (or "false") returns None without reading anything (standardisation off). Defaults to True.

    Raises:
        ConfigError: ``enabled`` is not a true/false value.
    """
    if not as_flag(enabled, "input_standardisation"):
        return None
    if isinstance(items, Mapping):
        if "val" not in items:
            raise ConfigError(
                "input_standardisation fits its landmarks on healthy val volumes, which new scans alone do not give; "
                "pass --val_datalist too, or use a model trained without it"
            )
        items = items["val"]
    rows = []
    for item in items:
        d = transform(dict(item))
        volume, mask = convert_to_numpy(d[Keys.IMAGE]), convert_to_numpy(d[Keys.BRAIN_MASK]) > 0
        rows.append(_landmarks(volume, mask, LANDMARK_PERCENTILES))
    return np.maximum.accumulate(np.mean(rows, axis=0) + np.arange(len(LANDMARK_PERCENTILES)) * 1e-6).tolist()
