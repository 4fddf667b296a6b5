"""The one-class report: detection at mean + k sd of the training reconstruction error, beside reference 004."""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Mapping
from pathlib import Path

import numpy as np
from ignite.engine import Engine

from medmonai.engines.collect import ScoreBuffer, as_array
from medmonai.keys import Keys
from medmonai.metrics import auroc_ap
from medmonai.scoring import mean_std_threshold
from medmonai.utils.outputs import figure_png_bytes, json_bytes, read_json, write_outputs
from medmonai.viz import histogram_figure, image_grid_figure

__all__ = ["OneClassReport", "REFERENCE_004_TABLE1", "one_class_metrics", "one_class_table"]

logger = logging.getLogger(__name__)
ANOMALY_SETS = ("other", "noise", "real")


def one_class_metrics(errors: Mapping[str, np.ndarray], k: float = 2.0) -> dict[str, float]:
    """The report's numbers from the reconstruction errors per image set (see :class:`OneClassReport`).

    Args:
        errors: ``{set: (N,) errors}`` with ``train``, ``test_normal`` and any of ``other``, ``noise``, ``real``.
        k: threshold width in standard deviations of the training errors. Defaults to 2.
    """
    threshold = mean_std_threshold(errors["train"], k)
    normal = errors["test_normal"]
    out = {
        "threshold": threshold,
        "train_recon_error": float(errors["train"].mean()),
        "test_normal_recon_error": float(normal.mean()),
        "test_normal_fpr": 100.0 * float((normal > threshold).mean()),
    }
    for group in ANOMALY_SETS:
        if group in errors:
            auroc, ap = auroc_ap(
                np.r_[np.zeros(len(normal)), np.ones(len(errors[group]))], np.r_[normal, errors[group]]
            )
            out[f"{group}/detection_rate"] = 100.0 * float((errors[group] > threshold).mean())
            out[f"{group}/auroc"], out[f"{group}/ap"] = auroc, ap
    return out


class OneClassReport(ScoreBuffer):
    """Collect each image's reconstruction error per image set, then write the one-class report.

    Attach it to a :class:`medmonai.engines.ReconstructionErrorEvaluator` over the items of
    :func:`~medmonai.apps.one_class.one_class_items` with ``"all"``. The threshold is ``mean + k * std`` of the
    training images' errors (reference 004, k = 2). Per anomaly set (``other``, ``noise``, ``real``): the detection
    rate (% above the threshold), and AUROC and AP against the test normals; for the test normals: the mean error
    and the false-positive rate at the same threshold (the figure that makes a detection rate honest). Writes,
    atomically, ``metrics.json``, ``table1.md`` (shaped like reference 004's Table 1, its figures beside ours),
    ``error_hist.png`` and ``reconstructions.png`` (the first 8 images of each set beside their reconstructions).

    Args:
        output_dir: where the report goes.
        dataset_name: row name in ``table1.md`` (``MNIST``, ``PneumoniaMNIST``, ``OCTMNIST``, ``digits``).
        k: threshold width in standard deviations. Defaults to 2.
        reconstruction: the error's name, for the histogram's axis. Defaults to ``"bce"``.
        train_summary_path: ``train_summary.json`` of training, for images per second. Defaults to None.
        n_examples: images per set in the reconstruction figure. Defaults to 8.
    """

    def __init__(
        self,
        output_dir: str | Path,
        dataset_name: str,
        k: float = 2.0,
        reconstruction: str = "bce",
        train_summary_path: str | Path | None = None,
        n_examples: int = 8,
    ) -> None:
        self.output_dir, self.dataset_name, self.k = Path(output_dir), dataset_name, k
        self.reconstruction, self.train_summary_path, self.n_examples = reconstruction, train_summary_path, n_examples
        super().__init__(output_keys=(Keys.SCORE,), batch_keys=("set",))

    def reset(self) -> None:
        """Forget earlier runs."""
        super().reset()
        self.examples: dict[str, tuple[list, list]] = {}

    def iteration_completed(self, engine: Engine) -> None:
        """Keep the batch's errors and set names, and the first images of each set with their reconstructions."""
        super().iteration_completed(engine)
        names = as_array(engine.state.batch["set"])
        images, recon = as_array(engine.state.output[Keys.IMAGE]), as_array(engine.state.output[Keys.RECON])
        for name in dict.fromkeys(names.tolist()):
            kept = self.examples.setdefault(name, ([], []))
            room = self.n_examples - len(kept[0])
            if room > 0:
                kept[0].extend(images[names == name][:room])
                kept[1].extend(recon[names == name][:room])

    def errors(self) -> dict[str, np.ndarray]:
        """``{set: (N,) errors}`` of this run, sets in the order first seen."""
        scores, names = self.values(Keys.SCORE).reshape(-1), self.values("set").reshape(-1)
        return {name: scores[names == name] for name in dict.fromkeys(names.tolist())}

    def completed(self, engine: Engine) -> None:
        """Compute the metrics and write the report atomically."""
        errors = self.errors()
        metrics = one_class_metrics(errors, self.k)
        summary = read_json(self.train_summary_path) if self.train_summary_path else None
        if summary:
            metrics["train_images_per_second"] = float(summary["train_images_per_second"])
        hist = {  # log scale: other data sets can err 30x more than normals, which would hide the rest
            ("test normals" if g == "test_normal" else f"{g} anomalies"): np.log10(np.maximum(v, 1e-6))
            for g, v in errors.items()
            if g != "train"
        }
        rows, names = [], []
        for group, (images, recon) in self.examples.items():
            if group != "train":
                rows += [np.stack(images), np.stack(recon)]
                names += [group.replace("_", " "), "recon"]
        files = {
            "metrics.json": json_bytes(metrics),
            "table1.md": one_class_table(self.dataset_name, metrics, self.k).encode(),
            "error_hist.png": figure_png_bytes(
                histogram_figure(
                    hist,
                    f"log10 reconstruction error ({self.reconstruction}, mean per pixel)",
                    f"threshold mean + {self.k:g} sd of training = {metrics['threshold']:.4f}",
                )
            ),
            "reconstructions.png": figure_png_bytes(image_grid_figure(rows, names, "originals and reconstructions")),
        }
        write_outputs(self.output_dir, files)
        logger.info(f"wrote {', '.join(files)} to {self.output_dir}")
        logger.info(json.dumps(metrics, indent=1))


# Reference 004, Table 1: recon. error (BCE), detection rate (%) of FashionMNIST / Gaussian-noise / real anomalies
# at mean + 2 sd, and training images per second.
REFERENCE_004_TABLE1 = {
    "MNIST": (0.3408, 96.2, 87.3, None, 33.91),
    "PneumoniaMNIST": (0.7381, 86.2, 82.5, 26.0, 35.95),
    "OCTMNIST": (0.5146, 69.8, 85.9, 19.0, 32.72),
}


def one_class_table(dataset: str, metrics: Mapping[str, float], k: float = 2.0) -> str:
    """Reference 004's Table 1 for the data set run, our measured row beside the reference's rows (labelled).

    Args:
        dataset: our row's name.
        metrics: our measured metrics (``test_normal_recon_error``, ``<group>/detection_rate``, ...).
        k: the threshold width used.
    """
    head = (
        "| source | data set | Recon. error (BCE) | An. other data set (%) | An. Gaussian noise (%) | An. real (%) "
        "| FPR on test normals (%) | training images/s |"
    )
    rows = [head, "|---" * 8 + "|"]
    ours = [
        metrics.get("test_normal_recon_error"),
        metrics.get("other/detection_rate"),
        metrics.get("noise/detection_rate"),
        metrics.get("real/detection_rate"),
        metrics.get("test_normal_fpr"),
        metrics.get("train_images_per_second"),
    ]
    rows.append(f"| **medmonai (measured)** | {dataset} | " + " | ".join(_num(v) for v in ours) + " |")
    for name, (bce, other, noise, real, speed) in REFERENCE_004_TABLE1.items():
        cells = [_num(bce), _num(other), _num(noise), _num(real), "not reported", _num(speed)]
        rows.append(f"| reference 004 | {name} | " + " | ".join(cells) + " |")
    return "\n".join(
        [
            f"# Table 1: one-class detection at mean + {k:g} sd of the training reconstruction error",
            "",
            "Our row is measured by this run; the reference's rows are copied from reference 004 (Table 1) and are",
            "labelled as such. The other data set is FashionMNIST in the reference and in ours when given; without",
            "it, ours uses patches of pydicom's DICOM test images. AUROC and AP are in metrics.json.",
            "",
            *rows,
            "",
        ]
    )


def _num(value: float | None) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    return f"{value:.4f}" if abs(value) < 1 else f"{value:.1f}"
