"""A model's calibration: the thresholds fixed on healthy volumes, stored as ``thresholds.json`` beside the model.

Evaluation (or a calibration run on healthy volumes) writes it; inference on new scans reads it, so that a scan is
segmented and flagged at the false-positive rate chosen on healthy data, with the settings that produced the
thresholds. A calibration is only valid with those settings: :meth:`Calibration.check_settings` refuses others.
Inference may set either threshold by hand instead (:meth:`Calibration.with_manual`); the results say so.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from medmonai.errors import ConfigError
from medmonai.runs import CALIBRATION_FILE
from medmonai.scoring.thresholds import check_fpr, threshold_at_fp_volume, threshold_at_fpr

__all__ = ["Calibration", "calibrate", "load_calibration"]

DISPLAY_FPR_FACTOR = 0.01  # the overlays' colour scale tops out where this share of the calibrated FPR is left
UNITS = ("volumes", "images")  # what a calibration's healthy data are: 3-D volumes (voxels) or 2-D images (pixels)


@dataclass(frozen=True)
class Calibration:
    """Thresholds of one method's anomaly maps, fixed on healthy volumes, and the settings they hold for.

    2-D models calibrate the same way on healthy images (``unit="images"``): their ``voxel_*`` fields hold the pixel
    threshold and rate, ``n_healthy_volumes`` the number of images, and ``method`` the image score's name.

    Attributes:
        method: the map's method (a model name, e.g. ``ssad3d``).
        voxel_threshold: voxels above it are anomalous; exceeded by ``voxel_fpr`` of healthy in-brain voxels, or,
            with ``max_fp_ml``, the lowest threshold at which no healthy volume has more than that segmented.
        image_threshold: a scan whose image score is above it is flagged abnormal; exceeded by ``image_fpr`` of the
            healthy volumes' image scores (their ``1 - image_fpr`` quantile).
        voxel_fpr: the healthy voxels' false-positive rate the voxel threshold was set at (with ``max_fp_ml``: the
            rate it reached).
        image_fpr: the healthy volumes' false-positive rate the image threshold was set at (``target_fpr``).
        display_max: top of the overlays' colour scale: the score exceeded by 1% of ``voxel_fpr`` of healthy voxels.
        n_healthy_volumes: how many healthy volumes (or images) the thresholds come from.
        settings: everything that shapes the maps and scores (image score, post-processing, intensity
            normalisation); inference must use the same.
        unit: ``"volumes"`` (voxel maps) or ``"images"`` (pixel maps). Defaults to ``"volumes"``.
        replaced: the thresholds set by hand at inference (:meth:`with_manual`), with the calibrated values they
            replaced (``{"image": 0.31}``); never written to ``thresholds.json``. Defaults to none.
        max_fp_ml: the voxel threshold's rule, when it was set by false-positive volume: the most (ml) any healthy
            volume has segmented at it, small components dropped. Defaults to None (set by ``voxel_fpr``).
    """

    method: str
    voxel_threshold: float
    image_threshold: float
    voxel_fpr: float
    image_fpr: float
    display_max: float
    n_healthy_volumes: int
    settings: dict[str, Any] = field(default_factory=dict)
    unit: str = "volumes"
    replaced: dict[str, float] = field(default_factory=dict)
    max_fp_ml: float | None = None

    @property
    def map_unit(self) -> str:
        """``voxel`` or ``pixel``: what the map's threshold applies to."""
        return "pixel" if self.unit == "images" else "voxel"

    def rule(self, which: str) -> str:
        """The calibration rule of the ``"image"`` or ``"voxel"`` threshold, e.g. ``fpr 0.05 on 8 healthy volumes``."""
        healthy = f"{self.n_healthy_volumes} healthy {self.unit[:-1] if self.n_healthy_volumes == 1 else self.unit}"
        if which == "image":
            return f"fpr {self.image_fpr:g} on {healthy}"
        if self.max_fp_ml is not None:
            return f"at most {self.max_fp_ml:g} ml segmented in each of {healthy}"
        return f"fpr {self.voxel_fpr:g} on the {self.map_unit}s of {healthy}"

    def source(self, which: str) -> str:
        """Where the ``"image"`` or ``"voxel"`` threshold came from: ``manual``, or ``calibrated: <rule>``."""
        return "manual" if which in self.replaced else f"calibrated: {self.rule(which)}"

    @property
    def rules(self) -> dict[str, str]:
        """Per threshold, the rule that made it, as ``thresholds.json`` states it."""
        fprs = {"image": (self.image_fpr, "image scores"), "voxel": (self.voxel_fpr, f"{self.map_unit} values")}
        rules = {
            f"{which}_threshold": f"{self.rule(which)}: the {1 - fpr:g} quantile of their {what}"
            for which, (fpr, what) in fprs.items()
        }
        if self.max_fp_ml is not None:
            rules["voxel_threshold"] = (
                f"{self.rule('voxel')}: the lowest such threshold, exceeded by {self.voxel_fpr:.3g} of their "
                f"{self.map_unit} values"
            )
        return rules

    def with_manual(self, image_threshold: Any = None, voxel_threshold: Any = None) -> Calibration:
        """This calibration with either threshold set by hand (None, or ``"null"`` from a command line: calibrated).

        A manual voxel threshold above the overlays' colour scale raises its top, as :func:`calibrate` does.

        Args:
            image_threshold: flag an image whose score is above this. Defaults to None (calibrated).
            voxel_threshold: segment the map above this (the pixel threshold of a 2-D model). Defaults to None.

        Raises:
            ConfigError: a threshold that is not a finite number, naming its config id.
        """
        given = {
            which: _manual_value(f"{unit}_threshold", value)
            for which, unit, value in (("image", "image", image_threshold), ("voxel", self.map_unit, voxel_threshold))
        }
        given = {which: value for which, value in given.items() if value is not None}
        if not given:
            return self
        changes: dict[str, Any] = {f"{which}_threshold": value for which, value in given.items()}
        if "voxel" in given:
            voxel = given["voxel"]
            changes["display_max"] = max(self.display_max, voxel * 1.25, voxel + 1e-6)
        replaced = {**{w: getattr(self, f"{w}_threshold") for w in given}, **self.replaced}
        return dataclasses.replace(self, **changes, replaced=replaced)

    def to_json(self) -> bytes:
        """The calibration as pretty JSON, with the rule that made each threshold (a manual one is never written).

        Raises:
            ConfigError: a threshold of this calibration was set by hand.
        """
        if self.replaced:
            manual = " and ".join(self.replaced)
            raise ConfigError(f"{manual} threshold set by hand: {CALIBRATION_FILE} holds calibrated ones only")
        content = {k: v for k, v in asdict(self).items() if k != "replaced"}
        return (json.dumps({**content, "rules": self.rules}, indent=2, sort_keys=True) + "\n").encode()

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
            calibration = cls(**_current(json.loads(path.read_text(encoding="utf-8"))))
            numbers = (calibration.voxel_threshold, calibration.image_threshold, calibration.display_max)
            if not all(isinstance(v, (int, float)) and math.isfinite(v) for v in numbers):
                raise ValueError("thresholds must be finite numbers")
            if calibration.unit not in UNITS:
                raise ValueError(f"unit must be one of {UNITS}, got {calibration.unit!r}")
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


def _current(content: Any) -> dict[str, Any]:
    """A ``thresholds.json``'s content as :class:`Calibration`'s fields.

    The stated rules are dropped (they are derived), and an earlier release's ``image_percentile`` is read as the
    false-positive rate it stands for.
    """
    if not isinstance(content, dict):
        raise ValueError(f"expected a JSON object, got {type(content).__name__}")
    content = {k: v for k, v in content.items() if k not in ("rules", "replaced")}
    if "image_percentile" in content and "image_fpr" not in content:
        percentile = content.pop("image_percentile")
        if isinstance(percentile, (int, float)):
            content["image_fpr"] = (100.0 - percentile) / 100.0
    return content


def _manual_value(name: str, value: Any) -> float | None:
    """A threshold given by hand, or None when it is not set (None, or ``null``/``none`` from a command line)."""
    if value is None or (isinstance(value, str) and value.strip().lower() in ("null", "none", "")):
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ConfigError(f"{name} must be a finite number or null, got {value!r}")
    return float(value)


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
    image_fpr: float,
    settings: Mapping[str, Any] | None = None,
    unit: str = "volumes",
    max_fp_ml: float | None = None,
    healthy_volumes: Sequence[tuple[np.ndarray, np.ndarray, float]] | None = None,
    segment: Callable[[np.ndarray, np.ndarray, float], np.ndarray] | None = None,
) -> Calibration:
    """Fix a method's thresholds on healthy volumes: each is the ``1 - fpr`` quantile of the healthy values.

    With ``max_fp_ml`` the voxel threshold is instead the lowest at which no healthy volume has more than
    ``max_fp_ml`` segmented (:func:`medmonai.scoring.thresholds.threshold_at_fp_volume`), and ``voxel_fpr`` is
    ignored.

    Args:
        method: the method's name.
        healthy_values: per healthy volume (or image), its in-brain map values.
        healthy_image_scores: per healthy volume (or image), its image score.
        voxel_fpr: target false-positive rate of healthy voxels (pixels), in (0, 1).
        image_fpr: target false-positive rate of healthy volumes (images), in (0, 1): the image threshold is the
            ``1 - image_fpr`` quantile of their image scores.
        settings: the settings the thresholds hold for (see :class:`Calibration`). Defaults to None.
        unit: ``"volumes"`` or ``"images"``, what the healthy data are. Defaults to ``"volumes"``.
        max_fp_ml: set the voxel threshold by false-positive volume instead, in ml. Defaults to None (by rate).
        healthy_volumes: with ``max_fp_ml``, per healthy volume its ``(map, region, voxel ml)``. Defaults to None.
        segment: with ``max_fp_ml``, ``segment(map, region, threshold)`` -> bool (the post-processor's, which drops
            small components). Defaults to None.

    Raises:
        ConfigError: a rate outside (0, 1), no healthy values, an unknown ``unit``, or ``max_fp_ml`` without the
            healthy volumes and ``segment``.
    """
    if unit not in UNITS:
        raise ConfigError(f"unit must be one of {UNITS}, got {unit!r}")
    values = np.concatenate([np.asarray(v, np.float32).ravel() for v in healthy_values])
    if max_fp_ml is None:
        voxel = threshold_at_fpr(values, check_fpr(voxel_fpr, "voxel_fpr"))
    else:
        if not healthy_volumes or segment is None:
            raise ConfigError("max_fp_ml needs the healthy volumes' maps and a segmentation to calibrate on")
        maps, regions, voxel_ml = zip(*healthy_volumes, strict=True)
        voxel = threshold_at_fp_volume(maps, regions, voxel_ml, max_fp_ml, segment)
        voxel_fpr = float(np.mean(values > voxel))
    top = float(values.max()) if voxel_fpr <= 0 else threshold_at_fpr(values, voxel_fpr * DISPLAY_FPR_FACTOR)
    display = max(top, voxel * 1.25, voxel + 1e-6)
    return Calibration(
        method=method,
        voxel_threshold=float(voxel),
        image_threshold=float(threshold_at_fpr(healthy_image_scores, check_fpr(image_fpr, "target_fpr"))),
        voxel_fpr=float(voxel_fpr),
        image_fpr=float(image_fpr),
        display_max=float(display),
        n_healthy_volumes=len(healthy_values),
        settings=json.loads(json.dumps(dict(settings or {}), default=list)),
        unit=unit,
        max_fp_ml=None if max_fp_ml is None else float(max_fp_ml),
    )


def load_calibration(
    path: str | Path,
    method: str | None = None,
    settings: Mapping[str, Any] | None = None,
    mappers: Mapping[str, Any] | None = None,
    image_threshold: float | None = None,
    voxel_threshold: float | None = None,
) -> Calibration:
    """Read and check a ``thresholds.json`` (see :meth:`Calibration.load`), for configs; apply manual thresholds.

    Args:
        path: the file.
        method: the method it must be for. Defaults to None (any).
        settings: the settings it must hold for. Defaults to None (not checked).
        mappers: ``{method: SlidingWindowMapper}``; the method's map settings (window, scorer) must match too.
            Defaults to None (not checked).
        image_threshold: an image threshold set by hand, in place of the calibrated one. Defaults to None.
        voxel_threshold: a voxel (2-D: pixel) threshold set by hand, in place of the calibrated one. Defaults to
            None.

    Raises:
        ConfigError: see :meth:`Calibration.load` and :meth:`Calibration.with_manual`.
    """
    calibration = Calibration.load(path, method, settings)
    mapper = (mappers or {}).get(calibration.method)
    if mapper is not None:
        calibration.check_settings({"map": mapper.map_settings}, path)
    return calibration.with_manual(image_threshold, voxel_threshold)
