"""The detection pipeline: collect on healthy data, calibrate there, then score, flag and report a test set.

Every anomaly detection in medmonai runs these steps; what differs is what is collected and how thresholds are fit:

- :class:`DetectionProtocol` runs all of them over two evaluators (healthy validation, labelled test):
  :class:`medmonai.engines.AnomalyEvaluation` (3-D maps: voxel and image thresholds, lesion metrics) and
  :class:`medmonai.engines.GANDetectionProtocol` (2-D images: one image threshold per detector) are its
  configurations;
- the 2-D bundles run the steps one evaluator at a time, as handlers over the same collector
  (:class:`medmonai.engines.ScoreBuffer`): ``calibrate.yaml`` collects and calibrates
  (:class:`medmonai.handlers.ImageCalibrationWriter`), ``inference.yaml`` scores, flags and reports new images
  (:class:`medmonai.handlers.ScoreTable`, :class:`medmonai.handlers.CaseReport`); the population study's
  inference collects and reports only (:class:`medmonai.apps.population.EmbeddingWriter`).

The flagging rule itself is the pure :func:`medmonai.metrics.sample_detection`.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from ignite.engine import Engine

from medmonai.engines.collect import ScoreBuffer, collect
from medmonai.utils.outputs import write_outputs

__all__ = ["DetectionProtocol"]

logger = logging.getLogger(__name__)


class DetectionProtocol:
    """Thresholds from the healthy validation set only, then metrics and a report on the test set.

    :meth:`run` calls, in order: :meth:`check` (before anything runs), :meth:`calibrate` (collect the validation
    evaluator's outputs with :meth:`collector` and :meth:`fit` the thresholds on them), collect the test
    evaluator's outputs with ``collector(thresholds)``, :meth:`score` them (metrics and curves), and writes what
    :meth:`report` returns to ``output_dir``, all files at once. Subclasses define :meth:`collector`, :meth:`fit`,
    :meth:`score` and :meth:`report`.

    Args:
        val_evaluator: an evaluator over healthy validation data.
        test_evaluator: an evaluator over the labelled test data (None: calibration only).
        output_dir: where the report goes.
        title: the report's title.
    """

    def __init__(self, val_evaluator: Engine, test_evaluator: Engine | None, output_dir: str | Path, title: str):
        self.val_evaluator, self.test_evaluator = val_evaluator, test_evaluator
        self.output_dir, self.title = Path(output_dir), title

    def collector(self, thresholds: Any = None) -> ScoreBuffer:
        """A fresh collector: for the healthy data without ``thresholds``, for the test data with them."""
        raise NotImplementedError

    def fit(self, healthy: ScoreBuffer) -> Any:
        """The thresholds, from what was collected on the healthy data."""
        raise NotImplementedError

    def score(self, test: ScoreBuffer, thresholds: Any) -> tuple[dict[str, float], dict[str, dict]]:
        """``(metrics, curves)`` of the test data at ``thresholds``; curves are ROC/PR data per detector."""
        raise NotImplementedError

    def report(
        self, test: ScoreBuffer, thresholds: Any, metrics: dict[str, float], curves: dict[str, dict]
    ) -> dict[str, bytes]:
        """``{file name: bytes}`` to write to ``output_dir``."""
        raise NotImplementedError

    def check(self) -> None:
        """Refuse unusable data before anything runs (nothing by default)."""

    def calibrate(self) -> Any:
        """Collect the healthy validation data and fit the thresholds on it."""
        return self.fit(collect(self.val_evaluator, self.collector()))

    def run(self) -> dict[str, float]:
        """Check, calibrate, evaluate the test set and write the report; returns the metrics."""
        self.check()
        thresholds = self.calibrate()
        test = collect(self.test_evaluator, self.collector(thresholds))
        metrics, curves = self.score(test, thresholds)
        files = self.report(test, thresholds, metrics, curves)
        write_outputs(self.output_dir, files)
        logger.info(f"wrote {', '.join(files)} to {self.output_dir}")
        return metrics
