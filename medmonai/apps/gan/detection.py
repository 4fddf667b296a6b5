"""Three anomaly detectors side by side: the GAN's discriminator, f-AnoGAN, and an autoencoder on the same data.

:class:`GANDetectionEvaluator` scores each batch with all three (and maps it with f-AnoGAN and the autoencoder);
:class:`GANDetectionProtocol` runs it on healthy validation images first, fixes each detector's image threshold
there (a percentile of healthy scores; no test label is used), then on the test images, and writes
``detection_metrics.json``, ``detection_roc.png``, ``detection_scores.png`` and ``detection_maps.png``.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np
import torch
from matplotlib.figure import Figure
from monai.engines import Evaluator
from monai.engines.utils import IterationEvents
from PIL import Image
from torch import nn

from medmonai.apps.gan.fanogan import IziFNetwork, discriminator_anomaly_scores, fanogan_maps, fanogan_scores
from medmonai.handlers.score_buffer import ScoreBuffer
from medmonai.keys import Keys
from medmonai.metrics.detection import auroc_ap, ranking_metrics
from medmonai.scoring.thresholds import percentile_threshold
from medmonai.transforms.io.array import fit_to_shape
from medmonai.utils.outputs import figure_png_bytes, json_bytes, write_outputs

__all__ = ["DETECTORS", "GANDetectionEvaluator", "GANDetectionProtocol"]

logger = logging.getLogger(__name__)
# metrics.json names them discriminator_ood_*, fanogan_*, ae_*; *_p99 score an image by its map's 99th percentile
DETECTORS = ("discriminator", "fanogan", "ae", "fanogan_p99", "ae_p99")
_MAPPED = ("fanogan", "ae")
_METRIC_PREFIX = {d: d for d in DETECTORS} | {"discriminator": "discriminator_ood"}
MAP_PERCENTILE = 0.99


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


def _collect(evaluator: Evaluator, keys: tuple[str, ...]) -> ScoreBuffer:
    buffer = ScoreBuffer(output_keys=keys)
    buffer.attach(evaluator)
    evaluator.run()
    return buffer


class GANDetectionProtocol:
    """Thresholds from healthy validation images, then the three detectors' metrics on the test images.

    ``detection_metrics.json`` holds, per detector (``discriminator_ood``, ``fanogan``, ``ae``, ``fanogan_p99``,
    ``ae_p99``): ``<d>_auroc`` and
    ``<d>_ap`` (image level, healthy against lesion), ``<d>_threshold`` (the ``image_percentile``-th percentile of
    its healthy validation scores), ``<d>_detection_rate`` and ``<d>_fpr`` at it, and for f-AnoGAN and the
    autoencoder ``<d>_pixel_auprc`` and ``<d>_pixel_auroc`` over every test pixel against the lesion masks.

    Args:
        val_evaluator: a :class:`GANDetectionEvaluator` over healthy validation images.
        test_evaluator: one over the labelled test images.
        output_dir: where the files go.
        image_percentile: percentile of healthy validation scores for each threshold. Defaults to 95.
        title: the figures' title. Defaults to ``"medical_gan detectors"``.
    """

    def __init__(
        self,
        val_evaluator: GANDetectionEvaluator,
        test_evaluator: GANDetectionEvaluator,
        output_dir: str | Path,
        image_percentile: float = 95.0,
        title: str = "medical_gan detectors",
    ) -> None:
        self.val_evaluator, self.test_evaluator = val_evaluator, test_evaluator
        self.output_dir, self.image_percentile, self.title = Path(output_dir), float(image_percentile), title

    def run(self) -> dict[str, float]:
        """Calibrate, evaluate, write the report; returns the metrics."""
        scores = tuple(f"{d}_score" for d in DETECTORS)
        val = _collect(self.val_evaluator, scores)
        thresholds = {d: percentile_threshold(val.values(f"{d}_score"), self.image_percentile) for d in DETECTORS}
        maps = tuple(f"{d}_map" for d in _MAPPED)
        test = _collect(self.test_evaluator, (*scores, *maps, Keys.IMAGE, Keys.LABEL, "mask"))
        labels = test.values(Keys.LABEL).reshape(-1)
        if not ((labels == 0).any() and (labels == 1).any()):
            raise ValueError("the test set needs healthy (label 0) and lesion (label 1) images")
        metrics: dict[str, float] = {"image_percentile": self.image_percentile, "n_val": len(val.values(scores[0]))}
        metrics.update({"n_test_healthy": int((labels == 0).sum()), "n_test_lesion": int((labels == 1).sum())})
        curves = {}
        for detector in DETECTORS:
            name, values = _METRIC_PREFIX[detector], test.values(f"{detector}_score").reshape(-1)
            auroc, ap = auroc_ap(labels == 1, values)
            flagged = values > thresholds[detector]
            metrics.update(
                {
                    f"{name}_auroc": auroc,
                    f"{name}_ap": ap,
                    f"{name}_threshold": thresholds[detector],
                    f"{name}_detection_rate": float(flagged[labels == 1].mean()),
                    f"{name}_fpr": float(flagged[labels == 0].mean()),
                }
            )
            curves[detector] = ranking_metrics(labels == 1, values)
        masks = test.values("mask").astype(bool)
        if masks.any():
            for detector in _MAPPED:
                pixels = ranking_metrics(masks.ravel(), test.values(f"{detector}_map").ravel())
                metrics[f"{detector}_pixel_auprc"] = pixels["ap"]
                metrics[f"{detector}_pixel_auroc"] = pixels["auroc"]
        write_outputs(
            self.output_dir,
            {
                "detection_metrics.json": json_bytes(metrics),
                "detection_roc.png": figure_png_bytes(self._roc(curves, metrics)),
                "detection_scores.png": figure_png_bytes(self._histograms(test, labels)),
                "detection_maps.png": figure_png_bytes(self._maps(test, labels, masks)),
            },
        )
        logger.info(
            ", ".join(f"{_METRIC_PREFIX[d]}_auroc {metrics[f'{_METRIC_PREFIX[d]}_auroc']:.3f}" for d in DETECTORS)
            + f"; wrote detection_metrics.json and figures to {self.output_dir}"
        )
        return metrics

    def _roc(self, curves: dict, metrics: dict) -> Figure:
        fig = Figure(figsize=(5.5, 5.0))
        ax = fig.add_subplot()
        for detector, curve in curves.items():
            auroc = metrics[f"{_METRIC_PREFIX[detector]}_auroc"]
            ax.plot(curve["fpr"], curve["tpr"], label=f"{detector} (AUROC {auroc:.3f})")
        ax.plot([0, 1], [0, 1], color="gray", linestyle=":", linewidth=1)
        ax.set(xlabel="false-positive rate", ylabel="true-positive rate", title=f"{self.title}: healthy vs lesion")
        ax.legend(fontsize=8, loc="lower right")
        return fig

    def _histograms(self, test: ScoreBuffer, labels: np.ndarray) -> Figure:
        fig = Figure(figsize=(4.0 * len(DETECTORS), 4.0))
        for i, detector in enumerate(DETECTORS):
            values = test.values(f"{detector}_score").reshape(-1)
            ax = fig.add_subplot(1, len(DETECTORS), i + 1)
            edges = np.histogram_bin_edges(values, bins=30)
            ax.hist(values[labels == 0], bins=edges, alpha=0.6, label=f"healthy (n={(labels == 0).sum()})")
            ax.hist(values[labels == 1], bins=edges, alpha=0.6, label=f"lesion (n={(labels == 1).sum()})")
            ax.set(xlabel=f"{detector} score", ylabel="count", title=detector)
            ax.legend(fontsize=8)
        return fig

    def _maps(self, test: ScoreBuffer, labels: np.ndarray, masks: np.ndarray, n: int = 6) -> Figure:
        images = test.values(Keys.IMAGE)
        chosen = np.flatnonzero(labels == 1)[:n]
        columns = ["image (channel 0)", "f-AnoGAN |x - G(E(x))|", "autoencoder |x - AE(x)|"]
        fig = Figure(figsize=(2.2 * len(columns), 2.2 * max(len(chosen), 1) + 0.6))
        for row, index in enumerate(chosen):
            panels = [images[index, 0], test.values("fanogan_map")[index], test.values("ae_map")[index]]
            for col, panel in enumerate(panels):
                ax = fig.add_subplot(len(chosen), len(columns), row * len(columns) + col + 1)
                ax.imshow(panel, cmap="gray" if col == 0 else "hot")
                if masks[index].any():
                    ax.contour(masks[index].astype(float), levels=[0.5], colors="cyan", linewidths=0.8)
                ax.set_xticks([])
                ax.set_yticks([])
                if row == 0:
                    ax.set_title(columns[col], fontsize=8)
        fig.suptitle(f"{self.title}: lesion test images (cyan: lesion mask)")
        return fig
