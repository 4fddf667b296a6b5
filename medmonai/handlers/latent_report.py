"""Evaluator handler: collect latent codes per image, then write metrics and figures."""

from __future__ import annotations

import logging
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np
import torch
from ignite.engine import Engine
from monai.networks.utils import eval_mode
from sklearn.metrics import roc_auc_score

from medmonai.engines.collect import ScoreBuffer
from medmonai.keys import Keys
from medmonai.metrics.latent import latent_separation
from medmonai.utils.outputs import figure_png_bytes, json_bytes, read_json, write_outputs
from medmonai.viz.embedding import embed_2d
from medmonai.viz.figures import image_grid_figure, latent_scatter_figure

__all__ = ["LatentReport"]

logger = logging.getLogger(__name__)


def _middle_slice(images: np.ndarray) -> np.ndarray:
    """``(N, C, H, W)`` as is; ``(N, C, H, W, D)`` by the middle slice along D."""
    return images[..., images.shape[-1] // 2] if images.ndim == 5 else images


_VIEW_NAMES = {"latent": "Latent", "t-SNE": "t-SNE of", "jitter": "1-D"}
_VIEW_AXES = {"latent": ("z[0]", "z[1]"), "t-SNE": ("t-SNE 1", "t-SNE 2"), "jitter": ("z[0]", "jitter")}


class LatentReport(ScoreBuffer):
    """Collect ``mu`` and labels from a VAE evaluator and write the latent report when it completes.

    Writes into ``output_dir``, all at once and atomically: ``metrics.json`` (the evaluator's metrics, the
    latent separation from :func:`medmonai.metrics.latent_separation`, ``elbo_auroc`` when there are exactly two
    classes (the negative ELBO as a score for class 1), ``extra_metrics``, and ``train_images_per_second`` when a
    training summary exists), the scatter (t-SNE when the latent has more than 2 dims), ``reconstructions.png``
    (originals over mean reconstructions, classes interleaved; 3-D patches by their middle slice) and
    ``samples.png`` (decoded from the N(0, I) prior).

    Args:
        output_dir: folder of the report.
        network: the VAE (a :class:`medmonai.networks.VariationalAutoencoder`).
        train_summary_path: JSON written by :class:`TrainingSummary`; skipped with a warning if absent.
        num_reconstructions: images in the reconstruction grid. Defaults to 10.
        num_samples: images in the prior-sample grid. Defaults to 32.
        knn_k: neighbours of the kNN metric. Defaults to 5.
        seed: seed of folds, t-SNE and prior samples. Defaults to 0.
        class_names: legend text per label. Defaults to the label number.
        metric_suffix: appended to the separation metric names, e.g. ``"_lesion"``. Defaults to "".
        scatter_file: file name of the scatter. Defaults to ``"latent_scatter.png"``.
        extra_metrics: more named numbers for ``metrics.json``. Defaults to None.
    """

    def __init__(
        self,
        output_dir: str | Path,
        network: torch.nn.Module,
        train_summary_path: str | Path | None = None,
        num_reconstructions: int = 10,
        num_samples: int = 32,
        knn_k: int = 5,
        seed: int = 0,
        class_names: dict[int, str] | None = None,
        metric_suffix: str = "",
        scatter_file: str = "latent_scatter.png",
        extra_metrics: dict[str, float] | None = None,
    ) -> None:
        self.output_dir = Path(output_dir)
        self.network = network
        self.train_summary_path = Path(train_summary_path) if train_summary_path else None
        self.num_reconstructions = num_reconstructions
        self.num_samples = num_samples
        self.knn_k = knn_k
        self.seed = seed
        self.class_names = {int(k): v for k, v in class_names.items()} if class_names else None
        self.metric_suffix = metric_suffix
        self.scatter_file = scatter_file
        self.extra_metrics = dict(extra_metrics or {})
        super().__init__(output_keys=(Keys.MU, Keys.LABEL, Keys.ELBO))

    def reset(self) -> None:
        """Forget earlier runs, and restart the seeded example sample."""
        super().reset()
        self.examples: dict[int, list[torch.Tensor]] = defaultdict(list)
        self.seen: dict[int, int] = defaultdict(int)
        self.rng = np.random.default_rng(self.seed)

    def iteration_completed(self, engine: Engine) -> None:
        """Keep the batch's ``mu``, labels and ELBO, and a seeded uniform sample of images per class (reservoir)."""
        super().iteration_completed(engine)
        out = engine.state.output
        labels = out[Keys.LABEL].detach().cpu().numpy().reshape(-1)
        for image, label in zip(out[Keys.IMAGE], labels, strict=True):
            kept, self.seen[int(label)] = self.examples[int(label)], self.seen[int(label)] + 1
            if len(kept) < self.num_reconstructions:
                kept.append(image.detach())
            elif (slot := int(self.rng.integers(self.seen[int(label)]))) < self.num_reconstructions:
                kept[slot] = image.detach()

    def completed(self, engine: Engine) -> None:
        """Compute metrics, draw figures, then write everything."""
        latents, labels = self.values(Keys.MU), self.values(Keys.LABEL).reshape(-1)
        metrics: dict[str, Any] = {k: float(v) for k, v in engine.state.metrics.items()}
        separation = latent_separation(latents, labels, k=self.knn_k, seed=self.seed)
        metrics.update({f"{k}{self.metric_suffix}": v for k, v in separation.items()})
        if len(np.unique(labels)) == 2:
            score = -self.values(Keys.ELBO).reshape(-1)  # the less likely under the model, the more anomalous
            metrics[f"elbo_auroc{self.metric_suffix}"] = float(roc_auc_score(labels == labels.max(), score))
        metrics.update(self.extra_metrics)
        metrics["n_images"] = int(len(labels))
        metrics["latent_size"] = int(latents.shape[1])
        summary = read_json(self.train_summary_path) if self.train_summary_path else None
        if summary is None:
            logger.warning(f"no training summary at {self.train_summary_path}; train_images_per_second left out")
        else:
            metrics["train_images_per_second"] = float(summary["train_images_per_second"])
        points, method = embed_2d(latents, seed=self.seed)
        scatter = latent_scatter_figure(
            points,
            labels,
            title=f"{_VIEW_NAMES[method]} posterior means (latent size {latents.shape[1]}, {len(labels)} images)",
            axis_names=_VIEW_AXES[method],
            class_names=self.class_names,
        )
        files = {
            "metrics.json": json_bytes(metrics),
            self.scatter_file: figure_png_bytes(scatter),
            "reconstructions.png": figure_png_bytes(self._reconstruction_figure(engine)),
            "samples.png": figure_png_bytes(self._sample_figure(engine)),
        }
        written = write_outputs(self.output_dir, files)
        logger.info("metrics: " + ", ".join(f"{k}={v:.4g}" for k, v in sorted(metrics.items())))
        logger.info("wrote " + ", ".join(str(p) for p in written))

    def _interleaved_examples(self) -> torch.Tensor:
        per_class = [self.examples[c] for c in sorted(self.examples)]
        picked = [imgs[i] for i in range(self.num_reconstructions) for imgs in per_class if i < len(imgs)]
        return torch.stack(picked[: self.num_reconstructions])

    def _reconstruction_figure(self, engine: Engine):
        images = self._interleaved_examples()
        with eval_mode(self.network), torch.no_grad():
            recon = self.network(images.to(engine.state.device))[Keys.RECON]
        rows = [_middle_slice(images.cpu().numpy()), _middle_slice(recon.cpu().numpy())]
        order = ", ".join(self.class_names[c] if self.class_names else str(c) for c in sorted(self.examples))
        title = f"test images (top) and mean reconstructions; classes interleaved: {order}"
        return image_grid_figure(rows, ["original", "reconstruction"], title)

    def _sample_figure(self, engine: Engine):
        generator = torch.Generator().manual_seed(self.seed)
        with eval_mode(self.network), torch.no_grad():
            samples = _middle_slice(self.network.sample(self.num_samples, generator).cpu().numpy())
        ncols = 8
        rows = [samples[i : i + ncols] for i in range(0, len(samples), ncols)]
        title = f"decoded from N(0, I) prior (latent size {self.network.latent_size})"
        return image_grid_figure(rows, [""] * len(rows), title)
