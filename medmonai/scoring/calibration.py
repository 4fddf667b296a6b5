"""A model's calibration: the thresholds fixed on healthy volumes, stored as ``thresholds.json`` beside the model.

Evaluation (or a calibration run on healthy volumes) writes it; inference on new scans reads it, so that a scan is
segmented and flagged at the false-positive rate chosen on healthy data, with the settings that produced the
thresholds. A calibration is only valid with those settings: :meth:`Calibration.check_settings` refuses others.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from medmonai.errors import ConfigError
from medmonai.scoring.thresholds import percentile_threshold, threshold_at_fpr

__all__ = ["CALIBRATION_FILE", "Calibration", "calibrate", "load_calibration"]

CALIBRATION_FILE = "thresholds.json"
DISPLAY_FPR_FACTOR = 0.01  # the overlays' colour scale tops out where this share of the calibrated FPR is left


@dataclass(frozen=True)
class Calibration:
    """Thresholds of one method's anomaly maps, fixed on healthy volumes, and the settings they hold for.

    2-D models calibrate the same way on healthy images: their ``voxel_*`` fields hold the pixel threshold and rate,
    ``n_healthy_volumes`` the number of images, and ``method`` the image score's name.

    Attributes:
        method: the map's method (a model name, e.g. ``ssad3d``).
        voxel_threshold: voxels above it are anomalous; exceeded by ``voxel_fpr`` of healthy in-brain voxels.
        image_threshold: a scan whose image score is above it is flagged abnormal; the ``image_percentile``-th
            percentile of the healthy volumes' image scores.
        voxel_fpr: the healthy voxels' false-positive rate the voxel threshold was set at.
        image_percentile: the percentile of healthy image scores the image threshold was set at.
        display_max: top of the overlays' colour scale: the score exceeded by 1% of ``voxel_fpr`` of healthy voxels.
        n_healthy_volumes: how many healthy volumes the thresholds come from.
        settings: everything that shapes the maps and scores (image score, post-processing, intensity
            normalisation); inference must use the same.
    """

    method: str
    voxel_threshold: float
    image_threshold: float
    voxel_fpr: float
    image_percentile: float
    display_max: float
    n_healthy_volumes: int
    settings: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> bytes:
        """The calibration as pretty JSON."""
        return (json.dumps(asdict(self), indent=2, sort_keys=True) + "\n").encode()

    @classmethod
    def load(
        cls, path: str | Path, method: str | None = None, settings: Mapping[str, Any] | None = None
    ) -> Calibration:
        """Read ``thresholds.json``, and check it is for ``method`` and these ``settings`` when given.

        Raises:
            ConfigError: the file is missing or malformed, or holds another method or other settings.
        """
        path = Path(path)
        if not path.is_file():
            raise ConfigError(
                f"{path}: no calibration; run evaluate.yaml or calibrate.yaml on healthy volumes first, or set "
                "--thresholds_path"
            )
        try:
            content = json.loads(path.read_text(encoding="utf-8"))
            calibration = cls(**content)
            numbers = (calibration.voxel_threshold, calibration.image_threshold, calibration.display_max)
            if not all(isinstance(v, (int, float)) and math.isfinite(v) for v in numbers):
                raise ValueError("thresholds must be finite numbers")
        except (ValueError, TypeError) as e:
            raise ConfigError(f"{path}: not a medmonai calibration ({e})") from e
        if method is not None and calibration.method != method:
            raise ConfigError(f"{path}: calibrated for {calibration.method!r}, but this run uses {method!r}")
        if settings is not None:
            calibration.check_settings(settings, path)
        return calibration

    def check_settings(self, settings: Mapping[str, Any], source: str | Path = "calibration") -> None:
        """Refuse settings that differ from the calibrated ones (the thresholds would not hold for them).

        Raises:
            ConfigError: naming every differing setting, calibrated and given.
        """
        calibrated = _flat(self.settings)
        differ = {k: (calibrated.get(k), v) for k, v in _flat(settings).items() if not _same(calibrated.get(k), v)}
        if differ:
            shown = ", ".join(
                f"{k}: {'not in the calibration' if a is None else f'calibrated {a!r}'}, given {b!r}"
                for k, (a, b) in sorted(differ.items())
            )
            raise ConfigError(f"{source}: settings differ from the calibration ({shown}); recalibrate or match them")


def _same(calibrated: Any, given: Any) -> bool:
    """Equal, counting a command line's ``true``/``false`` as the booleans they mean."""
    if isinstance(calibrated, bool) and isinstance(given, str):
        return given.strip().lower() == str(calibrated).lower()
    return calibrated == given


def _flat(settings: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in settings.items():
        if isinstance(value, Mapping):
            out.update(_flat(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = list(value) if isinstance(value, tuple) else value
    return out


def calibrate(
    method: str,
    healthy_values: Sequence[np.ndarray],
    healthy_image_scores: Sequence[float],
    voxel_fpr: float,
    image_percentile: float,
    settings: Mapping[str, Any] | None = None,
) -> Calibration:
    """Fix a method's thresholds on healthy volumes.

    Args:
        method: the method's name.
        healthy_values: per healthy volume, its in-brain map values.
        healthy_image_scores: per healthy volume, its image score.
        voxel_fpr: target false-positive rate of healthy voxels.
        image_percentile: percentile of healthy image scores for the image threshold.
        settings: the settings the thresholds hold for (see :class:`Calibration`). Defaults to None.
    """
    values = np.concatenate([np.asarray(v, np.float32).ravel() for v in healthy_values])
    voxel = threshold_at_fpr(values, voxel_fpr)
    display = max(threshold_at_fpr(values, voxel_fpr * DISPLAY_FPR_FACTOR), voxel * 1.25, voxel + 1e-6)
    return Calibration(
        method=method,
        voxel_threshold=float(voxel),
        image_threshold=float(percentile_threshold(healthy_image_scores, image_percentile)),
        voxel_fpr=float(voxel_fpr),
        image_percentile=float(image_percentile),
        display_max=float(display),
        n_healthy_volumes=len(healthy_values),
        settings=json.loads(json.dumps(dict(settings or {}), default=list)),
    )


def load_calibration(
    path: str | Path,
    method: str | None = None,
    settings: Mapping[str, Any] | None = None,
    mappers: Mapping[str, Any] | None = None,
) -> Calibration:
    """Read and check a ``thresholds.json`` (see :meth:`Calibration.load`), for configs.

    Args:
        path: the file.
        method: the method it must be for. Defaults to None (any).
        settings: the settings it must hold for. Defaults to None (not checked).
        mappers: ``{method: SlidingWindowMapper}``; the method's map settings (window, scorer) must match too.
            Defaults to None (not checked).
    """
    calibration = Calibration.load(path, method, settings)
    mapper = (mappers or {}).get(calibration.method)
    if mapper is not None:
        calibration.check_settings({"map": mapper.map_settings}, path)
    return calibration
