"""The OCT disease report: a VAE's recon, KL and VAE-score AUROC/AP per disease class, beside reference 001."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import torch
from ignite.engine import Engine
from sklearn.metrics import roc_curve
from torch.utils.data import Dataset

from medmonai.data.synthetic.retina import OCT_CLASSES
from medmonai.engines.collect import ScoreBuffer
from medmonai.keys import Keys
from medmonai.metrics import auroc_ap
from medmonai.utils.outputs import figure_png_bytes, json_bytes, write_outputs
from medmonai.viz import histogram_figure, image_grid_figure
from medmonai.viz.anomaly import roc_by_class_figure
from medmonai.viz.tables import metric_cell

__all__ = ["DiseaseAUCReport", "REFERENCE_001_AUC", "SCORES", "disease_auc_table"]

logger = logging.getLogger(__name__)
SCORES = ("recon", "kl", "vae")  # reconstruction NLL, KL, and their sum (the negative ELBO)


class DiseaseAUCReport(ScoreBuffer):
    """Collect per-image scores from a :class:`VAEEvaluator` over test images and write the disease report.

    Scores per image: ``recon`` (the L-sample reconstruction NLL), ``kl``, and ``vae = recon + kl``. For each
    score and each disease class, AUROC and AP of normal (label 0) against that class, and against all diseases
    (``all``), go to ``metrics.json`` as ``<score>/auroc_<class>`` and ``<score>/ap_<class>``. Also writes
    ``auc_table.md`` (reference 001's table, its figures beside ours), ``roc.png``, ``score_hist.png`` and
    ``reconstructions.png`` (``n_examples`` random validation images beside their reconstructions).

    Args:
        output_dir: where the report goes.
        class_names: name per label; label 0 is normal. Defaults to the OCT2017 classes (NORMAL, CNV, DME, DRUSEN).
        examples: validation dataset whose items hold ``image`` ``(1, H, W)``, for the reconstruction figure.
            Defaults to None (no figure).
        network: the VAE, for the reconstruction figure. Defaults to None.
        n_examples: validation images shown. Defaults to 9.
        seed: seed of the example choice. Defaults to 0.
    """

    def __init__(
        self,
        output_dir: str | Path,
        class_names: Sequence[str] = OCT_CLASSES,
        examples: Dataset | None = None,
        network: torch.nn.Module | None = None,
        n_examples: int = 9,
        seed: int = 0,
    ) -> None:
        self.output_dir = Path(output_dir)
        self.class_names = [str(c) for c in class_names]
        self.examples, self.network, self.n_examples, self.seed = examples, network, n_examples, seed
        super().__init__(output_keys=(Keys.RECON_NLL, Keys.KL, Keys.LABEL))

    def scores(self) -> tuple[dict[str, np.ndarray], np.ndarray]:
        """``({score: (N,)}, labels (N,))`` of everything collected."""
        recon, kl = self.values(Keys.RECON_NLL), self.values(Keys.KL)
        return {"recon": recon, "kl": kl, "vae": recon + kl}, self.values(Keys.LABEL).reshape(-1)

    def metrics(self, scores: dict[str, np.ndarray], labels: np.ndarray) -> tuple[dict, dict]:
        """AUROC and AP per score and class, and the ROC curves for the figure."""
        metrics, curves = {}, {}
        normal = labels == 0
        subsets = {name.lower(): labels == i for i, name in enumerate(self.class_names) if i}
        subsets["all"] = ~normal
        for score, values in scores.items():
            curves[score] = {}
            for name, diseased in subsets.items():
                keep = normal | diseased
                auroc, ap = auroc_ap(diseased[keep], values[keep])
                metrics[f"{score}/auroc_{name}"], metrics[f"{score}/ap_{name}"] = auroc, ap
                if diseased.any() and normal.any():
                    fpr, tpr, _ = roc_curve(diseased[keep], values[keep])
                    curves[score][name] = (fpr, tpr, auroc)
        metrics.update({f"n_test_{n.lower()}": int((labels == i).sum()) for i, n in enumerate(self.class_names)})
        return metrics, curves

    def reconstructions(self):
        """A figure of random validation images beside their reconstructions (posterior mean), or None."""
        if self.examples is None or self.network is None or len(self.examples) == 0:
            return None
        rng = np.random.default_rng(self.seed)
        pick = rng.choice(len(self.examples), min(self.n_examples, len(self.examples)), replace=False)
        images = torch.stack([torch.as_tensor(np.asarray(self.examples[int(i)][Keys.IMAGE])) for i in pick])
        device = next(self.network.parameters()).device
        was_training = self.network.training
        self.network.eval()
        with torch.no_grad():
            recon = self.network(images.to(device))[Keys.RECON].cpu()
        self.network.train(was_training)
        return image_grid_figure([images.numpy(), recon.numpy()], ["original", "reconstruction"], "validation", 1.3)

    def completed(self, engine: Engine) -> None:
        """Compute the metrics and write the report atomically."""
        scores, labels = self.scores()
        metrics, curves = self.metrics(scores, labels)
        hist = {name: scores["vae"][labels == i] for i, name in enumerate(self.class_names) if (labels == i).any()}
        files = {
            "metrics.json": json_bytes(metrics),
            "auc_table.md": disease_auc_table(metrics, [c.lower() for c in self.class_names[1:]]).encode(),
            "roc.png": figure_png_bytes(roc_by_class_figure(curves, "test images: normal against each disease")),
            "score_hist.png": figure_png_bytes(histogram_figure(hist, "VAE score (KL + recon, nats)", "VAE score")),
        }
        figure = self.reconstructions()
        if figure is not None:
            files["reconstructions.png"] = figure_png_bytes(figure)
        write_outputs(self.output_dir, files)
        logger.info(f"wrote {', '.join(files)} to {self.output_dir}")


# Reference 001's table: AUROC of normal against each disease and against all, per anomaly score.
REFERENCE_001_AUC = {
    "recon": {"cnv": 0.93, "dme": 0.90, "drusen": 0.77, "all": 0.87},
    "kl": {"cnv": 0.56, "dme": 0.51, "drusen": 0.48, "all": 0.52},
    "vae": {"cnv": 0.92, "dme": 0.89, "drusen": 0.76, "all": 0.86},
}
_SCORE_NAMES = {"recon": "Reconstruction Score", "kl": "KL Score", "vae": "VAE Score"}


def disease_auc_table(metrics: Mapping[str, float], diseases: Sequence[str]) -> str:
    """Reference 001's AUC table: our measured AUROC per score and disease, the reference's figures beside.

    Args:
        metrics: ``{"<score>/auroc_<disease>": value}`` with diseases and ``all``.
        diseases: disease column names (lower case), e.g. ``["cnv", "dme", "drusen"]``.
    """
    columns = [*diseases, "all"]
    rows = ["| source | method used to compute AUC | " + " | ".join(c.upper() for c in columns) + " |"]
    rows.append("|---" * (len(columns) + 2) + "|")
    for score, name in _SCORE_NAMES.items():
        ours = [metric_cell(metrics.get(f"{score}/auroc_{c}")) for c in columns]
        rows.append(f"| **medmonai (measured)** | {name} | " + " | ".join(ours) + " |")
    for score, name in _SCORE_NAMES.items():
        theirs = [metric_cell(REFERENCE_001_AUC[score].get(c)) for c in columns]
        rows.append(f"| reference 001 | {name} | " + " | ".join(theirs) + " |")
    intro = [
        "# AUROC of normal against each disease, per anomaly score",
        "",
        "Our rows are measured by this run; the reference rows are copied from reference 001 and labelled as such.",
        "Scores: reconstruction NLL averaged over L posterior samples, KL to the prior, and their sum (VAE score).",
        "",
    ]
    return "\n".join([*intro, *rows, ""])
