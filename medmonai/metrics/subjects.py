"""Per-subject summaries, and a method chosen by leave-one-subject-out.

No choice sees the subject it is judged on.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np

__all__ = ["leave_one_subject_out", "subject_means"]


def subject_means(by_group: Mapping[str, Mapping[str, float]], key: str) -> dict[str, float]:
    """Per subject, the mean of ``key`` over its groups (``<subject>/<variant>``); subjects without it are left out.

    Args:
        by_group: ``{group: {"<method>/<metric>": value}}``, as ``metrics_by_group.json`` holds it.
        key: ``"<method>/<metric>"``.
    """
    values: dict[str, list[float]] = {}
    for group, metrics in by_group.items():
        value = metrics.get(key)
        if value is not None and not math.isnan(value):
            values.setdefault(group.split("/")[0], []).append(float(value))
    return {subject: float(np.mean(v)) for subject, v in values.items()}


def leave_one_subject_out(
    by_group: Mapping[str, Mapping[str, float]],
    metric: str = "voxel_auprc",
    baseline: str = "intensity_threshold",
    candidates: Sequence[str] | None = None,
) -> list[dict]:
    """For each subject, the method chosen on the other subjects alone, and how it does on the held-out one.

    A method's score on a subject is its ``metric`` (mean over the subject's variants) as a multiple of
    ``baseline``'s. On each held-out subject the chosen method is the one whose **worst** score over the other
    subjects is highest (ties: the first name in sorted order), so the choice guards the worst case and never sees
    the subject it is then judged on.

    Args:
        by_group: ``{group: {"<method>/<metric>": value}}``; groups are ``<subject>/<variant>``.
        metric: the metric compared (higher is better). Defaults to ``"voxel_auprc"``.
        baseline: the method every score is a multiple of. Defaults to ``"intensity_threshold"``.
        candidates: the methods to choose from. Defaults to every method with ``metric`` on every subject.

    Returns:
        One row per held-out subject: ``held_out``, ``chosen``, ``worst_on_others`` (the chosen method's worst
        multiple on the other subjects) and ``held_out_multiple`` (its multiple on the held-out subject).

    Raises:
        ValueError: fewer than two subjects, or a baseline of 0 on a subject (no multiple is defined).
    """
    base = subject_means(by_group, f"{baseline}/{metric}")
    subjects = sorted(base)
    if len(subjects) < 2:
        raise ValueError(f"leave-one-subject-out needs two subjects or more, got {subjects}")
    zero = [s for s in subjects if base[s] <= 0]
    if zero:
        raise ValueError(f"{baseline}'s {metric} is 0 on {zero}: no multiple of it is defined")
    methods = candidates
    if methods is None:
        found = {k.split("/")[0] for metrics in by_group.values() for k in metrics if k.endswith(f"/{metric}")}
        methods = [m for m in sorted(found) if set(subject_means(by_group, f"{m}/{metric}")) >= set(subjects)]
    multiple = {m: {s: v / base[s] for s, v in subject_means(by_group, f"{m}/{metric}").items()} for m in methods}
    rows = []
    for held_out in subjects:
        others = [s for s in subjects if s != held_out]
        worst = {m: min(multiple[m][s] for s in others) for m in methods}
        chosen = max(sorted(methods), key=worst.__getitem__)  # the first of equals
        rows.append(
            {
                "held_out": held_out,
                "chosen": chosen,
                "worst_on_others": worst[chosen],
                "held_out_multiple": multiple[chosen][held_out],
            }
        )
    return rows
