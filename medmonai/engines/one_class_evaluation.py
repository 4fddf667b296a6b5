"""One-class anomaly detection from reconstruction error (reference 004): threshold at training mean + k sd."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch
from monai.engines import Evaluator
from monai.engines.utils import IterationEvents
from torch import nn
from torch.utils.data import DataLoader

from medmonai.data.in_memory import StackedDataset
from medmonai.data.one_class import OneClassSets
from medmonai.keys import Keys
from medmonai.losses import reconstruction_nll
from medmonai.metrics import auroc_ap
from medmonai.scoring import mean_std_threshold
from medmonai.utils.outputs import figure_png_bytes, json_bytes, read_json, write_outputs
from medmonai.viz import histogram_figure, image_grid_figure
from medmonai.viz.tables import one_class_table

__all__ = ["ReconstructionErrorEvaluator", "OneClassEvaluation"]

logger = logging.getLogger(__name__)


class ReconstructionErrorEvaluator(Evaluator):
    """Evaluator whose output is each image's mean per-pixel reconstruction error (BCE by default, as Keras reports).

    Batches hold ``image`` ``(B, C, H, W)`` in [0, 1] and an integer ``label``; the output holds ``score``
    ``(B,)``, ``label`` ``(B,)``, ``image`` and ``recon``. The network is put in eval mode (VAEs decode the mean).

    Args:
        device: where the network runs.
        val_data_loader: the images.
        network: returns a dict with ``recon``.
        reconstruction: ``"bce"``, ``"mse"`` or ``"l1"``. Defaults to ``"bce"``.
        **kwargs: as for MONAI's ``Evaluator``.
    """

    def __init__(
        self,
        device: torch.device | str,
        val_data_loader: DataLoader,
        network: nn.Module,
        reconstruction: str = "bce",
        **kwargs: Any,
    ) -> None:
        super().__init__(device=device, val_data_loader=val_data_loader, decollate=False, **kwargs)
        self.network = network
        self.reconstruction = reconstruction

    def _iteration(self, engine: ReconstructionErrorEvaluator, batchdata: dict[str, Any]) -> dict:
        images = batchdata[Keys.IMAGE].to(engine.state.device)
        engine.network.eval()
        with torch.inference_mode():
            recon = engine.network(images)[Keys.RECON]
            error = reconstruction_nll(recon, images, engine.reconstruction) / images[0].numel()
        engine.state.output = {
            Keys.SCORE: error.cpu(),
            Keys.LABEL: torch.as_tensor(batchdata[Keys.LABEL]),
            Keys.IMAGE: images.cpu(),
            Keys.RECON: recon.cpu(),
        }
        engine.fire_event(IterationEvents.MODEL_COMPLETED)
        return engine.state.output


class OneClassEvaluation:
    """Score every image set of a one-class experiment and write the report.

    The threshold is ``mean + k * std`` of the training images' reconstruction errors (reference 004, k = 2).
    Per anomaly set (``other``, ``noise``, ``real``): the detection rate (% above the threshold), and AUROC and AP
    against the test normals; for the test normals: the mean reconstruction error and the false-positive rate at
    the same threshold (the figure that makes a detection rate honest). Writes ``metrics.json``, ``table1.md``
    (shaped like reference 004's Table 1, its figures beside ours), ``error_hist.png`` and ``reconstructions.png``.

    Args:
        sets: the experiment's images.
        network: the trained autoencoder.
        output_dir: where the report goes.
        dataset_name: row name in ``table1.md`` (``MNIST``, ``PneumoniaMNIST``, ``OCTMNIST``, ``digits``).
        k: threshold width in standard deviations. Defaults to 2.
        reconstruction: the error, ``"bce"``, ``"mse"`` or ``"l1"``. Defaults to ``"bce"``.
        train_summary_path: ``train_summary.json`` of training, for images per second. Defaults to None.
        device: where the network runs. Defaults to ``"cpu"``.
        batch_size: images per batch. Defaults to 256.
        handlers: extra evaluator handlers (e.g. a progress bar). Defaults to None.
    """

    def __init__(
        self,
        sets: OneClassSets,
        network: nn.Module,
        output_dir: str | Path,
        dataset_name: str,
        k: float = 2.0,
        reconstruction: str = "bce",
        train_summary_path: str | Path | None = None,
        device: torch.device | str = "cpu",
        batch_size: int = 256,
        handlers: list | None = None,
    ) -> None:
        self.sets, self.network, self.output_dir = sets, network, Path(output_dir)
        self.dataset_name, self.k, self.reconstruction = dataset_name, k, reconstruction
        self.train_summary_path = train_summary_path
        self.device, self.batch_size, self.handlers = device, batch_size, handlers or []

    def _arrays(self) -> dict[str, np.ndarray]:
        return {"train": self.sets.train, "test_normal": self.sets.test_normal, **self.sets.anomalies}

    def score(self) -> tuple[dict[str, np.ndarray], dict[str, tuple[np.ndarray, np.ndarray]]]:
        """Run the evaluator over every set; returns errors per set and a few (image, recon) pairs per set."""
        arrays = self._arrays()
        names = list(arrays)
        items = [{Keys.IMAGE: img, Keys.LABEL: names.index(g)} for g in names for img in arrays[g]]
        loader = DataLoader(StackedDataset(items), batch_size=self.batch_size, shuffle=False)
        evaluator = ReconstructionErrorEvaluator(
            self.device, loader, self.network, self.reconstruction, val_handlers=self.handlers
        )
        scores, labels, examples = [], [], {}

        def collect(engine):
            out = engine.state.output
            scores.append(out[Keys.SCORE].numpy())
            labels.append(out[Keys.LABEL].numpy())
            for g in np.unique(out[Keys.LABEL].numpy()):
                if names[g] not in examples:
                    sel = out[Keys.LABEL].numpy() == g
                    examples[names[g]] = (out[Keys.IMAGE][sel][:8].numpy(), out[Keys.RECON][sel][:8].numpy())

        evaluator.add_event_handler(IterationEvents.MODEL_COMPLETED, collect)
        evaluator.run()
        scores, labels = np.concatenate(scores), np.concatenate(labels)
        return {g: scores[labels == i] for i, g in enumerate(names)}, examples

    def metrics(self, errors: Mapping[str, np.ndarray]) -> dict[str, float]:
        """The report's numbers from the errors per set (see the class docstring)."""
        threshold = mean_std_threshold(errors["train"], self.k)
        normal = errors["test_normal"]
        out = {
            "threshold": threshold,
            "train_recon_error": float(errors["train"].mean()),
            "test_normal_recon_error": float(normal.mean()),
            "test_normal_fpr": 100.0 * float((normal > threshold).mean()),
        }
        for group in ("other", "noise", "real"):
            if group in errors:
                auroc, ap = auroc_ap(
                    np.r_[np.zeros(len(normal)), np.ones(len(errors[group]))], np.r_[normal, errors[group]]
                )
                out[f"{group}/detection_rate"] = 100.0 * float((errors[group] > threshold).mean())
                out[f"{group}/auroc"], out[f"{group}/ap"] = auroc, ap
        summary = read_json(self.train_summary_path) if self.train_summary_path else None
        if summary:
            out["train_images_per_second"] = float(summary["train_images_per_second"])
        return out

    def run(self) -> dict[str, float]:
        """Score, compute the metrics and write the report atomically; returns the metrics."""
        errors, examples = self.score()
        metrics = self.metrics(errors)
        hist = {  # log scale: other data sets can err 30x more than normals, which would hide the rest
            ("test normals" if g == "test_normal" else f"{g} anomalies"): np.log10(np.maximum(v, 1e-6))
            for g, v in errors.items()
            if g != "train"
        }
        rows, names = [], []
        for group, (images, recon) in examples.items():
            if group != "train":
                rows += [images, recon]
                names += [group.replace("_", " "), "recon"]
        write_outputs(
            self.output_dir,
            {
                "metrics.json": json_bytes(metrics),
                "table1.md": one_class_table(self.dataset_name, metrics, self.k).encode(),
                "error_hist.png": figure_png_bytes(
                    histogram_figure(
                        hist,
                        f"log10 reconstruction error ({self.reconstruction}, mean per pixel)",
                        f"threshold mean + {self.k:g} sd of training = {metrics['threshold']:.4f}",
                    )
                ),
                "reconstructions.png": figure_png_bytes(
                    image_grid_figure(rows, names, "originals and reconstructions")
                ),
            },
        )
        logger.info(f"wrote metrics.json, table1.md, error_hist.png, reconstructions.png to {self.output_dir}")
        logger.info(json.dumps(metrics, indent=1))
        return metrics
