"""Markdown tables for run reports."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence

__all__ = [
    "ANOMALY_METRICS",
    "REFERENCE_001_AUC",
    "REFERENCE_004_TABLE1",
    "comparison_markdown",
    "disease_auc_table",
    "one_class_table",
]

ANOMALY_METRICS = (
    "voxel_auroc",
    "voxel_auprc",
    "dice_at_threshold",
    "dice_oracle",
    "lesion_detection_rate",
    "sample_auroc",
    "sample_ap",
)


def _cell(value: float | None) -> str:
    return "–" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.3f}"


def comparison_markdown(metrics: Mapping[str, float], methods: Sequence[str], settings: Mapping, title: str) -> str:
    """Methods against metrics: an overall table, then one table per lesion kind, then the settings.

    Args:
        metrics: flat ``{"<method>/<metric>[_<kind>]": value}``.
        methods: row order.
        settings: shown as JSON under the tables.
        title: the heading.
    """
    prefix = f"{methods[0]}/voxel_auprc_"
    kinds = sorted(k[len(prefix) :] for k in metrics if k.startswith(prefix))
    lines = [
        f"# {title}",
        "",
        "Thresholds come from healthy validation volumes only. `dice_oracle` picks its threshold on the test",
        "set itself: an upper bound, never a result.",
        "",
    ]
    lines += ["## All test volumes", "", _table(metrics, methods, ANOMALY_METRICS, ""), ""]
    for kind in kinds:
        lines += [f"## Lesion kind: {kind}", "", _table(metrics, methods, ANOMALY_METRICS[:5], f"_{kind}"), ""]
    lines += ["## Settings", "", "```json", json.dumps(settings, indent=2), "```", ""]
    return "\n".join(lines)


def _table(metrics: Mapping[str, float], methods: Sequence[str], names: Sequence[str], suffix: str) -> str:
    rows = ["| method | " + " | ".join(names) + " |", "|---" * (len(names) + 1) + "|"]
    for method in methods:
        cells = [_cell(metrics.get(f"{method}/{name}{suffix}")) for name in names]
        rows.append(f"| {method} | " + " | ".join(cells) + " |")
    return "\n".join(rows)


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
        ours = [_cell(metrics.get(f"{score}/auroc_{c}")) for c in columns]
        rows.append(f"| **medmonai (measured)** | {name} | " + " | ".join(ours) + " |")
    for score, name in _SCORE_NAMES.items():
        theirs = [_cell(REFERENCE_001_AUC[score].get(c)) for c in columns]
        rows.append(f"| reference 001 | {name} | " + " | ".join(theirs) + " |")
    intro = [
        "# AUROC of normal against each disease, per anomaly score",
        "",
        "Our rows are measured by this run; the reference rows are copied from reference 001 and labelled as such.",
        "Scores: reconstruction NLL averaged over L posterior samples, KL to the prior, and their sum (VAE score).",
        "",
    ]
    return "\n".join([*intro, *rows, ""])
