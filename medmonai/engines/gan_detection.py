"""GAN detection: the GAN's discriminator, f-AnoGAN, and an autoencoder on the same data, side by side.

:class:`GANDetectionEvaluator` scores each batch with all three (and maps it with f-AnoGAN and the autoencoder);
:class:`GANDetectionProtocol`, a configuration of the detection pipeline (:mod:`medmonai.engines.detection`),
runs it on healthy validation images first, fixes each detector's image threshold there (a percentile of healthy
scores; no test label is used), then on the test images, and writes ``detection_metrics.json``,
``detection_roc.png``, ``detection_scores.png`` and ``detection_maps.png``.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np
import torch
from monai.engines import Evaluator
from monai.engines.utils import IterationEvents
from PIL import Image
from torch import nn

from medmonai.engines.collect import ScoreBuffer
from medmonai.engines.detection import DetectionProtocol
from medmonai.keys import Keys
from medmonai.metrics.detection import ranking_metrics, sample_detection
from medmonai.networks.gan.fanogan import IziFNetwork
from medmonai.scoring.gan import discriminator_anomaly_scores, fanogan_maps, fanogan_scores
from medmonai.scoring.thresholds import percentile_threshold
from medmonai.transforms.io.array import fit_to_shape
from medmonai.utils.outputs import figure_png_bytes, json_bytes
from medmonai.viz.detection import detector_maps_figure, detector_roc_figure, score_histograms_figure

__all__ = ["DETECTORS", "GANDetectionEvaluator", "GANDetectionProtocol", "SCORE_COLUMNS"]

logger = logging.getLogger(__name__)
# metrics.json names them discriminator_ood_*, fanogan_*, ae_*; *_p99 score an image by its map's 99th percentile
DETECTORS = ("discriminator", "fanogan", "ae", "fanogan_p99", "ae_p99")
_MAPPED = ("fanogan", "ae")
_METRIC_PREFIX = {d: d for d in DETECTORS} | {"discriminator": "discriminator_ood"}
MAP_PERCENTILE = 0.99
# scores.csv's columns (:class:`medmonai.handlers.ScoreTable`): each detector's metric name and output key
SCORE_COLUMNS = {_METRIC_PREFIX[d]: f"{d}_score" for d in DETECTORS}


def _mask(path: str, shape: tuple[int, int]) -> np.ndarray:
    """A lesion mask file at ``shape`` (resized as the images are), or all zeros without a file."""
    if not path:
        return np.zeros(shape, bool)
    with Image.open(path) as image:
        mask = torch.from_numpy(np.asarray(image.convert("L"), np.float32) / 255.0)[None]
    return fit_to_shape(mask, shape)[0].numpy() > 0.5


class GANDetectionEvaluator(Evaluator):
    """Score every image with the discriminator (``-D(x)``), f-AnoGAN and the autoencoder.

    The output holds ``<detector>_score`` ``(B,)`` for each of :data:`DETECTORS` (``fanogan_p99`` and ``ae_p99``:
    the 99th percentile of the image's map, which a small lesion moves where a whole-image mean barely does),
    ``fanogan_map`` and ``ae_map`` ``(B, H, W)``, ``label`` (0 healthy, 1 lesion; -1 when the data has none) and
    ``mask`` (``(B, H, W)`` bool).

    Args:
        device: where the networks run.
        val_data_loader: the images (``image``, optional ``label`` and ``mask`` file).
        izif: the f-AnoGAN network (trained encoder, frozen generator and discriminator).
        autoencoder: returns ``{"recon"}``.
        kappa: f-AnoGAN's feature weight. Defaults to 1.
        **kwargs: as for MONAI's ``Evaluator``.
    """

    def __init__(
        self,
        device: torch.device | str,
        val_data_loader: Any,
        izif: IziFNetwork,
        autoencoder: nn.Module,
        kappa: float = 1.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(device=device, val_data_loader=val_data_loader, decollate=False, **kwargs)
        self.izif, self.autoencoder, self.kappa = izif, autoencoder, float(kappa)

    def _iteration(self, engine: GANDetectionEvaluator, batchdata: dict[str, Any]) -> dict:
        x = batchdata[Keys.IMAGE].to(engine.state.device).float()
        engine.izif.eval()
        engine.autoencoder.eval()
        with torch.no_grad():
            out = engine.izif(x)
            recon = engine.autoencoder(x)[Keys.RECON]
            d_scores = discriminator_anomaly_scores(engine.izif.discriminator, x, engine.izif.reference)
        n, shape = x.shape[0], tuple(x.shape[-2:])
        labels = batchdata.get(Keys.LABEL, torch.full((n,), -1))
        masks = batchdata.get("mask", [""] * n)
        maps = {"fanogan": fanogan_maps(out, x).cpu(), "ae": (x - recon).abs().mean(1).cpu()}
        engine.state.output = {
            "discriminator_score": d_scores.cpu(),
            "fanogan_score": fanogan_scores(out, x, engine.kappa).cpu(),
            "ae_score": (x - recon).square().flatten(1).mean(1).cpu(),
            **{f"{k}_map": v for k, v in maps.items()},
            **{f"{k}_p99_score": torch.quantile(v.flatten(1), MAP_PERCENTILE, dim=1) for k, v in maps.items()},
            Keys.IMAGE: x.cpu(),
            Keys.LABEL: torch.as_tensor(labels).reshape(n),
            "mask": torch.from_numpy(np.stack([_mask(str(m), shape) for m in masks])),
        }
        engine.fire_event(IterationEvents.MODEL_COMPLETED)
        return engine.state.output


class GANDetectionProtocol(DetectionProtocol):
    """The GAN configuration of the detection pipeline: one image threshold per detector, image and pixel metrics.

    ``detection_metrics.json`` holds, per detector (``discriminator_ood``, ``fanogan``, ``ae``, ``fanogan_p99``,
    ``ae_p99``): ``<d>_auroc`` and ``<d>_ap`` (image level, healthy against lesion), ``<d>_threshold`` (the
    ``image_percentile``-th percentile of its healthy validation scores), ``<d>_detection_rate`` and ``<d>_fpr`` at
    it, and for f-AnoGAN and the autoencoder ``<d>_pixel_auprc`` and ``<d>_pixel_auroc`` over every test pixel
    against the lesion masks. Each test image's scores go to ``scores.csv`` through a
    :class:`medmonai.handlers.ScoreTable` on the test evaluator (columns :data:`SCORE_COLUMNS`).

    Args:
        val_evaluator: a :class:`GANDetectionEvaluator` over healthy validation images.
        test_evaluator: one over the labelled test images.
        output_dir: where the files go.
        image_percentile: percentile of healthy validation scores for each threshold. Defaults to 95.
        title: the figures' title. Defaults to ``"medical_gan detectors"``.
    """

    scores = tuple(f"{d}_score" for d in DETECTORS)
    maps = tuple(f"{d}_map" for d in _MAPPED)

    def __init__(
        self,
        val_evaluator: GANDetectionEvaluator,
        test_evaluator: GANDetectionEvaluator,
        output_dir: str | Path,
        image_percentile: float = 95.0,
        title: str = "medical_gan detectors",
    ) -> None:
        super().__init__(val_evaluator, test_evaluator, output_dir, title)
        self.image_percentile = float(image_percentile)
        self.n_val = 0

    def collector(self, thresholds: dict[str, float] | None = None) -> ScoreBuffer:
        """Scores of the healthy images; scores, maps, images, labels and masks of the test images."""
        if thresholds is None:
            return ScoreBuffer(output_keys=self.scores)
        return ScoreBuffer(output_keys=(*self.scores, *self.maps, Keys.IMAGE, Keys.LABEL, "mask"))

    def fit(self, healthy: ScoreBuffer) -> dict[str, float]:
        """Each detector's threshold: the ``image_percentile``-th percentile of its healthy scores."""
        self.n_val = len(healthy.values(self.scores[0]))
        return {d: percentile_threshold(healthy.values(f"{d}_score"), self.image_percentile) for d in DETECTORS}

    def score(self, test: ScoreBuffer, thresholds: dict[str, float]) -> tuple[dict[str, float], dict[str, dict]]:
        """Image metrics per detector at its threshold, pixel metrics of the mapping ones; ROC curves.

        Raises:
            ValueError: the test set lacks healthy (label 0) or lesion (label 1) images.
        """
        labels = test.values(Keys.LABEL).reshape(-1)
        if not ((labels == 0).any() and (labels == 1).any()):
            raise ValueError("the test set needs healthy (label 0) and lesion (label 1) images")
        metrics: dict[str, float] = {"image_percentile": self.image_percentile, "n_val": self.n_val}
        metrics.update({"n_test_healthy": int((labels == 0).sum()), "n_test_lesion": int((labels == 1).sum())})
        curves = {}
        for detector in DETECTORS:
            name, values = _METRIC_PREFIX[detector], test.values(f"{detector}_score").reshape(-1)
            flagged = sample_detection(labels == 1, values, thresholds[detector])
            metrics.update(
                {
                    f"{name}_auroc": flagged["auroc"],
                    f"{name}_ap": flagged["ap"],
                    f"{name}_threshold": thresholds[detector],
                    f"{name}_detection_rate": flagged["detection_rate"],
                    f"{name}_fpr": flagged["fpr"],
                }
            )
            curves[detector] = ranking_metrics(labels == 1, values)
        masks = test.values("mask").astype(bool)
        if masks.any():
            for detector in _MAPPED:
                pixels = ranking_metrics(masks.ravel(), test.values(f"{detector}_map").ravel())
                metrics[f"{detector}_pixel_auprc"] = pixels["ap"]
                metrics[f"{detector}_pixel_auroc"] = pixels["auroc"]
        logger.info(
            ", ".join(f"{_METRIC_PREFIX[d]}_auroc {metrics[f'{_METRIC_PREFIX[d]}_auroc']:.3f}" for d in DETECTORS)
        )
        return metrics, curves

    def report(
        self, test: ScoreBuffer, thresholds: dict[str, float], metrics: dict[str, float], curves: dict[str, dict]
    ) -> dict[str, bytes]:
        """The metrics, the ROC curves, the score histograms and the maps of up to 6 lesion images."""
        labels = test.values(Keys.LABEL).reshape(-1)
        aurocs = {d: metrics[f"{_METRIC_PREFIX[d]}_auroc"] for d in DETECTORS}
        scores = {d: test.values(f"{d}_score").reshape(-1) for d in DETECTORS}
        maps = {"f-AnoGAN |x - G(E(x))|": test.values("fanogan_map"), "autoencoder |x - AE(x)|": test.values("ae_map")}
        lesions = np.flatnonzero(labels == 1)[:6]
        masks = test.values("mask").astype(bool)
        return {
            "detection_metrics.json": json_bytes(metrics),
            "detection_roc.png": figure_png_bytes(detector_roc_figure(curves, aurocs, self.title)),
            "detection_scores.png": figure_png_bytes(score_histograms_figure(scores, labels)),
            "detection_maps.png": figure_png_bytes(
                detector_maps_figure(test.values(Keys.IMAGE), maps, masks, lesions, self.title)
            ),
        }
