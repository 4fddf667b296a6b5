"""Markdown tables for run reports."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence

__all__ = ["ANOMALY_METRICS", "comparison_markdown", "metric_cell"]

ANOMALY_METRICS = (
    "voxel_auroc",
    "voxel_auprc",
    "dice_at_threshold",
    "dice_oracle",
    "lesion_detection_rate",
    "sample_auroc",
    "sample_ap",
)


def metric_cell(value: float | None) -> str:
    """A metric as a table cell: three decimals, or a dash when missing."""
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
        cells = [metric_cell(metrics.get(f"{method}/{name}{suffix}")) for name in names]
        rows.append(f"| {method} | " + " | ".join(cells) + " |")
    return "\n".join(rows)
