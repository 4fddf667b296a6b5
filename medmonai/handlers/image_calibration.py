"""Handler calibrating a 2-D reconstruction model on healthy images: its thresholds go to ``thresholds.json``.

The pixel-wise anomaly map of each image is its reconstruction error (:func:`medmonai.scoring.error_map`), from an
evaluator whose output holds ``image`` and ``recon``; the image score is one of its ``(B,)`` keys. New images are
then scored, flagged and reported by :class:`medmonai.handlers.CaseReport` with ``score_key`` set.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch
from ignite.engine import Engine

from medmonai.engines.collect import ScoreBuffer, as_array
from medmonai.errors import ConfigError
from medmonai.keys import Keys
from medmonai.scoring.calibration import Calibration, calibrate
from medmonai.scoring.images import error_map
from medmonai.scoring.thresholds import check_fpr
from medmonai.utils.outputs import atomic_write_bytes

__all__ = ["ImageCalibrationWriter", "image_maps_and_scores"]

logger = logging.getLogger(__name__)


def image_maps_and_scores(output: Mapping[str, Any], score_key: str, reconstruction: str) -> tuple[np.ndarray, ...]:
    """An evaluator output's ``(B, H, W)`` reconstruction-error maps and ``(B,)`` image scores.

    Args:
        output: an iteration's output, holding ``image``, ``recon`` and ``score_key``.
        score_key: the output key of the image score.
        reconstruction: the per-pixel error, ``"bce"``, ``"mse"`` or ``"l1"``.

    Raises:
        ConfigError: a key is missing from the output.
    """
    missing = [k for k in (Keys.IMAGE, Keys.RECON, score_key) if k not in output]
    if missing:
        raise ConfigError(f"{missing} not in the evaluator's output (a VAE evaluator needs mean_reconstruction: true)")
    recon, image = torch.as_tensor(output[Keys.RECON]).float(), torch.as_tensor(output[Keys.IMAGE]).float()
    return as_array(error_map(recon, image, reconstruction)), as_array(output[score_key]).reshape(-1)


class ImageCalibrationWriter(ScoreBuffer):
    """Fix a 2-D model's thresholds on healthy images and write them to ``thresholds.json`` (atomically).

    The 2-D calibrate step of the detection pipeline: it collects every healthy image's error map (float32) and
    score, and at ``COMPLETED`` calibrates them. The pixel threshold is exceeded by ``pixel_fpr`` of the healthy
    images' pixel errors, the image threshold by ``target_fpr`` of their image scores (their ``1 - target_fpr``
    quantile; see :func:`medmonai.scoring.calibrate`; the calibration's ``voxel_*`` fields hold the pixel values,
    ``n_healthy_volumes`` the number of images).

    Args:
        path: the ``thresholds.json`` to write.
        method: the image score's name (e.g. ``vae``), which inference must flag by.
        score_key: the evaluator's output key of that score.
        reconstruction: the per-pixel error, ``"bce"``, ``"mse"`` or ``"l1"``.
        pixel_fpr: target false-positive rate of healthy pixels, in (0, 1). Defaults to 0.01.
        target_fpr: target false-positive rate of healthy images at the image threshold, in (0, 1). Defaults to 0.05
            (the 95th percentile of their image scores).
        settings: what shapes the scores (image size, model, reconstruction); inference must match them.

    Raises:
        ConfigError: ``pixel_fpr`` or ``target_fpr`` outside (0, 1).
    """

    def __init__(
        self,
        path: str | Path,
        method: str,
        score_key: str,
        reconstruction: str,
        pixel_fpr: float = 0.01,
        target_fpr: float = 0.05,
        settings: Mapping[str, Any] | None = None,
    ) -> None:
        self.path, self.method, self.score_key, self.reconstruction = Path(path), method, score_key, reconstruction
        self.pixel_fpr, self.target_fpr = check_fpr(pixel_fpr, "pixel_fpr"), check_fpr(target_fpr, "target_fpr")
        self.settings = dict(settings or {})
        super().__init__()

    def iteration_completed(self, engine: Engine) -> None:
        """Keep this batch's maps (as float32) and scores."""
        maps, scores = image_maps_and_scores(engine.state.output, self.score_key, self.reconstruction)
        self.keep("map", maps.astype(np.float32))
        self.keep("score", scores)

    def completed(self, engine: Engine) -> Calibration:
        """Calibrate and write ``thresholds.json``."""
        calibration = calibrate(
            self.method,
            list(self.values("map")),
            self.values("score"),
            self.pixel_fpr,
            self.target_fpr,
            {**self.settings, "score": self.method},
            unit="images",
        )
        atomic_write_bytes(self.path, calibration.to_json())
        image, pixel = calibration.image_threshold, calibration.voxel_threshold
        logger.info(
            f"calibrated {self.method}: image threshold {image:.4g} ({calibration.rule('image')}), "
            f"pixel threshold {pixel:.4g} ({calibration.rule('voxel')}); wrote {self.path}"
        )
        return calibration
