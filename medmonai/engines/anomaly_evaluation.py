"""The 3-D detection protocol for anomaly maps: calibrate on healthy validation volumes, score the test set."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from medmonai.data.io import load_volume
from medmonai.engines.anomaly_collector import HEALTHY, AnomalyCollector
from medmonai.engines.anomaly_evaluator import AnomalyMapEvaluator, DerivedMethod
from medmonai.engines.detection import DetectionProtocol
from medmonai.errors import DataError
from medmonai.keys import Keys
from medmonai.metrics import dice_from_counts, ranking_metrics, sample_detection
from medmonai.scoring.calibration import Calibration, calibrate
from medmonai.scoring.thresholds import check_fpr, optional_ml
from medmonai.utils.outputs import atomic_write_bytes, figure_png_bytes, json_bytes
from medmonai.viz import roc_pr_figure
from medmonai.viz.tables import comparison_markdown

__all__ = ["AnomalyEvaluation"]

logger = logging.getLogger(__name__)


class AnomalyEvaluation(DetectionProtocol):
    """The 3-D configuration of the detection pipeline: voxel and image thresholds, voxel and sample metrics.

    1. The validation evaluator maps the healthy validation volumes. Each method's voxel threshold is the score
       exceeded by ``voxel_fpr`` of their in-brain voxels; its image threshold is exceeded by ``target_fpr`` of
       their image scores (their ``1 - target_fpr`` quantile). Test labels are never seen before the thresholds are
       fixed.
    2. The test evaluator maps the test volumes. Per method, overall and per lesion kind (the test volumes of that
       kind; kinds come from the datalist's ``kind`` field, else "lesion"): ``voxel_auroc`` and ``voxel_auprc``
       over pooled in-brain voxels; ``dice_at_threshold`` (pooled, after small-component removal);
       ``dice_oracle`` (best threshold chosen on the test voxels themselves, an upper bound); and
       ``lesion_detection_rate`` (lesions touched by the segmentation); overall only, ``healthy_fp_ml`` (the mean
       volume, in ml, segmented in a healthy test volume). Sample level, healthy test volumes against lesion
       volumes: ``sample_auroc``, ``sample_ap``, and at the image threshold ``sample_detection_rate`` and
       ``sample_fpr``. When the datalist gives volumes a ``group`` (a subject, a site), the same metrics per group
       go to ``metrics_by_group.json`` (``{group: {<method>/<metric>: value}}``).
    3. ``metrics.json`` (flat, ``<method>/<metric>[_<kind>]``), ``comparison.md`` and ``roc_pr.png`` are written
       atomically to ``output_dir``, together with ``evaluation_settings.json``. The calibrations of the methods in
       ``calibration_paths`` (:class:`medmonai.scoring.Calibration`, ``thresholds.json`` beside each model's
       weights) are written too, for inference on new scans; :meth:`save_calibrations` does only that, without a
       test set.

    Args:
        val_evaluator: an :class:`AnomalyMapEvaluator` over healthy validation volumes.
        test_evaluator: an :class:`AnomalyMapEvaluator` over test volumes (same methods).
        output_dir: where the report goes.
        voxel_fpr: target false-positive rate of healthy voxels, in (0, 1). Defaults to 0.01.
        target_fpr: target false-positive rate of healthy volumes at the image threshold, in (0, 1). Defaults to
            0.05 (the 95th percentile of their image scores).
        image_score_method: map-to-image aggregation. Defaults to ``"percentile"``.
        image_score_percentile: its percentile. Defaults to 99.
        title: report title. Defaults to ``"anomaly maps"``.
        derived: ``{name: derived method}``, maps made from the methods' maps (a
            :class:`medmonai.methods.NormativeMap` or :class:`medmonai.methods.CombinedMap`: anything with
            ``methods``, ``rule``, ``fit(records)`` and ``__call__(maps, affine)``), fitted in this order on the
            healthy validation volumes and reported as methods of their own; one whose methods are not all
            evaluated is skipped. Defaults to None.
        calibration_paths: ``{method: path}`` of the calibrations to write. Defaults to None (none).
        calibration_settings: what the calibrations hold for (image score, post-processing, preprocessing,
            sliding window); inference must match them. Defaults to None.
        max_fp_ml: set each voxel threshold by false-positive volume instead of ``voxel_fpr``: the lowest at which
            no healthy validation volume has more than this (ml) segmented, small components dropped. Defaults to
            None (by ``voxel_fpr``).

    Raises:
        ConfigError: ``voxel_fpr`` or ``target_fpr`` outside (0, 1), or ``max_fp_ml`` not a positive number.
    """

    def __init__(
        self,
        val_evaluator: AnomalyMapEvaluator,
        test_evaluator: AnomalyMapEvaluator,
        output_dir: str | Path,
        voxel_fpr: float = 0.01,
        target_fpr: float = 0.05,
        image_score_method: str = "percentile",
        image_score_percentile: float = 99.0,
        title: str = "anomaly maps",
        derived: Mapping[str, DerivedMethod] | None = None,
        calibration_paths: Mapping[str, str | Path] | None = None,
        calibration_settings: Mapping | None = None,
        max_fp_ml: float | None = None,
    ) -> None:
        super().__init__(val_evaluator, test_evaluator, output_dir, title)
        self.voxel_fpr = check_fpr(voxel_fpr, "voxel_fpr")
        self.target_fpr = check_fpr(target_fpr, "target_fpr")
        self.score_settings = {
            "image_score_method": image_score_method,
            "image_score_percentile": image_score_percentile,
        }
        self.derived = dict(derived or {})
        self.calibration_paths = {m: Path(p) for m, p in (calibration_paths or {}).items()}
        self.calibration_settings = dict(calibration_settings or {})
        self.calibrations: dict[str, Calibration] = {}
        self.max_fp_ml = optional_ml(max_fp_ml, "max_fp_ml")

    def collector(self, thresholds: tuple[dict, dict] | None = None) -> AnomalyCollector:
        """The healthy volumes' collector (whole maps kept for derived maps), or the test volumes' (segmenting)."""
        if thresholds is None:
            keep_maps = bool(self.derived) or self.max_fp_ml is not None
            return AnomalyCollector(**self.score_settings, keep_maps=keep_maps)
        return AnomalyCollector(**self.score_settings, voxel_thresholds=thresholds[0])

    def fit(self, collector: AnomalyCollector) -> tuple[dict[str, float], dict[str, float]]:
        """Fit the derived maps and calibrate every method; return ``(voxel thresholds, image thresholds)``.

        The full calibrations (thresholds, display scale, settings) are kept in ``self.calibrations``.
        """
        derived = self._fit_derived(collector)
        if self.test_evaluator is not None:
            self.test_evaluator.derived = derived
        settings = {**self.calibration_settings, "image_score": self._image_score_settings}
        mappers = self.val_evaluator.mappers
        self.calibrations = {}
        for m, v in collector.scores.items():
            by_volume = {}
            if self.max_fp_ml is not None:  # segmented ml per healthy volume: needs the whole maps
                segment = self.val_evaluator.postprocessor.segment
                by_volume = {
                    "max_fp_ml": self.max_fp_ml,
                    "healthy_volumes": _healthy_volumes(collector, m),
                    "segment": segment,
                }
            map_settings = {**settings, "map": mappers[m].map_settings} if m in mappers else settings
            self.calibrations[m] = calibrate(
                m, v, collector.image_scores[m], self.voxel_fpr, self.target_fpr, map_settings, **by_volume
            )
        voxel = {m: c.voxel_threshold for m, c in self.calibrations.items()}
        image = {m: c.image_threshold for m, c in self.calibrations.items()}
        return voxel, image

    @property
    def _image_score_settings(self) -> dict:
        return {
            "method": self.score_settings["image_score_method"],
            "percentile": self.score_settings["image_score_percentile"],
        }

    def save_calibrations(self) -> list[Path]:
        """Write the calibrations of ``calibration_paths`` (calibrating first if not done yet)."""
        if not self.calibrations:
            self.calibrate()
        written = [
            atomic_write_bytes(path, self.calibrations[method].to_json())
            for method, path in self.calibration_paths.items()
            if method in self.calibrations
        ]
        logger.info("wrote " + (", ".join(map(str, written)) or "no calibration"))
        return written

    def _fit_derived(self, collector: AnomalyCollector) -> dict[str, DerivedMethod]:
        """Fit each usable derived method on the healthy maps, in order; add its maps and validation scores."""
        fitted = {}
        for name, method in self.derived.items():
            missing = sorted(set(method.methods) - set(collector.scores))
            if missing:
                logger.info(f"derived method {name} skipped: {missing} not evaluated")
                continue
            method.fit(collector.records)
            for record in collector.records:  # as the evaluator computes it on every later volume
                derived = np.where(record["region"], method(record["maps"], record["affine"]), 0.0)
                record["maps"][name] = derived.astype(np.float32)
                values = record["maps"][name][record["region"]]
                collector.scores[name].append(values)
                collector.image_scores[name].append(collector.image_score(values))
            fitted[name] = method
        return fitted

    def check(self) -> None:
        """Refuse a test set without lesions.

        Raises:
            DataError: no test volume's label holds a lesion voxel (checked before anything runs).
        """
        check_test_lesions(getattr(self.test_evaluator.data_loader.dataset, "data", None))

    def score(
        self, collector: AnomalyCollector, thresholds: tuple[dict[str, float], dict[str, float]]
    ) -> tuple[dict[str, float], dict[str, dict]]:
        """Every method's thresholds, voxel metrics and sample metrics, and its ROC / PR curves."""
        voxel_thresholds, image_thresholds = thresholds
        metrics, curves = {}, {}
        for method in collector.scores:
            metrics[f"{method}/voxel_threshold"] = voxel_thresholds[method]
            metrics[f"{method}/image_threshold"] = image_thresholds[method]
            voxel, curves[method] = _voxel_metrics(collector, method)
            metrics.update(voxel)
            metrics.update(_sample_metrics(collector, method, image_thresholds[method]))
        return metrics, curves

    def report(
        self,
        collector: AnomalyCollector,
        thresholds: tuple[dict[str, float], dict[str, float]],
        metrics: dict[str, float],
        curves: dict[str, dict],
    ) -> dict[str, bytes]:
        """The report's files, per-group metrics included; writes the calibrations beside the weights."""
        image_thresholds = thresholds[1]
        settings = self.settings(collector)
        self.save_calibrations()
        by_group = {}
        for group in sorted(set(collector.groups) - {""}):
            idx = [i for i, g in enumerate(collector.groups) if g == group]
            by_group[group] = {}
            for method in collector.scores:
                by_group[group].update(_voxel_metrics(collector, method, idx)[0])
                by_group[group].update(_sample_metrics(collector, method, image_thresholds[method], idx))
        return {
            "metrics.json": json_bytes(metrics),
            **({"metrics_by_group.json": json_bytes(by_group)} if by_group else {}),
            "comparison.md": comparison_markdown(metrics, list(collector.scores), settings, self.title).encode(),
            "roc_pr.png": figure_png_bytes(roc_pr_figure(curves, self.title)),
            "evaluation_settings.json": (json.dumps(settings, indent=2) + "\n").encode(),
        }

    def settings(self, collector: AnomalyCollector) -> dict:
        """Everything that shaped the numbers, for the report."""
        mapper = next(iter(self.test_evaluator.mappers.values()))
        kinds = {k: collector.kinds.count(k) for k in sorted(set(collector.kinds))}
        return {
            "thresholds": {
                **(
                    {"voxel_fpr_on_healthy_val": self.voxel_fpr}
                    if self.max_fp_ml is None
                    else {"max_fp_ml_per_healthy_val_volume": self.max_fp_ml}
                ),
                "image_fpr_on_healthy_val": self.target_fpr,
            },
            "image_score": self.score_settings,
            "postprocessing": self.test_evaluator.postprocessor.settings,
            "sliding_window": dict(mapper.settings),
            "test_volumes_by_kind": kinds,
            "val_volumes": len(self.val_evaluator.data_loader),
            "combinations": {n: {"methods": c.methods, "rule": c.rule} for n, c in self.test_evaluator.derived.items()},
        }


def _healthy_volumes(collector: AnomalyCollector, method: str) -> list[tuple[np.ndarray, np.ndarray, float]]:
    """Per healthy volume kept whole, ``(map, region, voxel ml)`` of ``method``."""
    return [
        (r["maps"][method], r["region"], abs(float(np.linalg.det(r["affine"][:3, :3]))) / 1000.0)
        for r in collector.records
    ]


def check_test_lesions(items: list[dict] | None) -> None:
    """Refuse a test set in which no label holds a lesion voxel: its lesion metrics would mean nothing.

    Args:
        items: the test datalist (``label`` paths), or None when the loader does not expose one (no check).

    Raises:
        DataError: naming the label files, and what to run instead for healthy scans.
    """
    if not items:
        return
    labels = [item[Keys.LABEL] for item in items if item.get(Keys.LABEL)]
    for path in labels:
        if np.any(np.asarray(load_volume(path)) > 0):
            return
    shown = ", ".join(Path(p).name for p in labels[:3]) + (f" and {len(labels) - 3} more" if len(labels) > 3 else "")
    raise DataError(
        f"test set: no lesion voxel in any of its {len(labels)} labels ({shown}); evaluation scores lesions, so "
        "give it lesion volumes (inference.yaml maps scans without labels)"
    )


def _subsets(collector: AnomalyCollector, volumes: list[int] | None = None) -> dict[str, list[int]]:
    """Indices per reported subset of ``volumes`` (default all): all of them (suffix ""), then each lesion kind's."""
    volumes = list(range(len(collector.kinds))) if volumes is None else volumes
    subsets = {"": volumes}
    for kind in sorted({collector.kinds[i] for i in volumes} - {HEALTHY}):
        subsets[f"_{kind}"] = [i for i in volumes if collector.kinds[i] == kind]
    return subsets


def _voxel_metrics(
    collector: AnomalyCollector, method: str, volumes: list[int] | None = None
) -> tuple[dict[str, float], dict]:
    """Voxel metrics per subset of ``volumes`` (default all), and their ROC / PR curves."""
    out, curves = {}, {}
    for suffix, idx in _subsets(collector, volumes).items():
        labels = np.concatenate([collector.labels[i] for i in idx])
        ranking = ranking_metrics(labels, np.concatenate([collector.scores[method][i] for i in idx]))
        counts = [collector.counts[method][i] for i in idx]
        tp, fp, fn = (sum(c[k] for c in counts) for k in ("tp", "fp", "fn"))
        detected, lesions = sum(c["detected"] for c in counts), sum(c["lesions"] for c in counts)
        out[f"{method}/voxel_auroc{suffix}"] = ranking["auroc"]
        out[f"{method}/voxel_auprc{suffix}"] = ranking["ap"]
        out[f"{method}/dice_at_threshold{suffix}"] = dice_from_counts(tp, fp, fn) if labels.any() else float("nan")
        out[f"{method}/dice_oracle{suffix}"] = ranking["dice_oracle"]
        out[f"{method}/lesion_detection_rate{suffix}"] = detected / lesions if lesions else float("nan")
        if not suffix:
            curves = _thinned(ranking)
            healthy = zip(idx, counts, strict=False)  # no counts without voxel thresholds: no volumes
            fp_ml = [c["fp"] * collector.voxel_ml[i] for i, c in healthy if collector.kinds[i] == HEALTHY]
            out[f"{method}/healthy_fp_ml"] = float(np.mean(fp_ml)) if fp_ml else float("nan")
    return out, curves


def _sample_metrics(
    collector: AnomalyCollector, method: str, threshold: float, volumes: list[int] | None = None
) -> dict[str, float]:
    """Image-level metrics of ``volumes`` (default all) at the image threshold."""
    volumes = list(range(len(collector.kinds))) if volumes is None else volumes
    scores = np.asarray(collector.image_scores[method])[volumes]
    kinds = np.asarray(collector.kinds)[volumes]
    detection = sample_detection(kinds != HEALTHY, scores, threshold)
    return {f"{method}/sample_{name}": value for name, value in detection.items()}


def _thinned(ranking: dict, points: int = 2000) -> dict[str, np.ndarray]:
    """At most ``points`` points of each curve, enough to draw it."""
    out = {}
    for x, y in (("fpr", "tpr"), ("recall", "precision")):
        keep = np.unique(np.linspace(0, max(len(ranking[x]) - 1, 0), points).astype(int)) if len(ranking[x]) else []
        out[x], out[y] = np.asarray(ranking[x])[keep], np.asarray(ranking[y])[keep]
    out.update(auroc=ranking["auroc"], auprc=ranking["ap"])
    return out
