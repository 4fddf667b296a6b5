"""Detection metrics: AUROC and AP of scores against binary labels, Dice, and lesion-wise detection."""

from __future__ import annotations

import numpy as np
from scipy import ndimage
from sklearn.metrics import average_precision_score, precision_recall_curve, roc_auc_score

__all__ = ["auroc_ap", "dice", "dice_from_counts", "oracle_dice", "lesion_detection"]


def auroc_ap(labels: np.ndarray, scores: np.ndarray) -> tuple[float, float]:
    """AUROC and average precision (area under the PR curve) of ``scores`` for binary ``labels`` (sklearn).

    Args:
        labels: anything truthy marks a positive; same size as ``scores``.
        scores: higher means more anomalous.

    Returns:
        ``(auroc, ap)``; both NaN when only one class is present.
    """
    y = np.asarray(labels).ravel() > 0
    s = np.asarray(scores, np.float64).ravel()
    if y.all() or not y.any():
        return float("nan"), float("nan")
    return float(roc_auc_score(y, s)), float(average_precision_score(y, s))


def dice(predicted: np.ndarray, truth: np.ndarray) -> float:
    """Dice coefficient ``2|P & T| / (|P| + |T|)`` of two binary arrays; 1.0 when both are empty."""
    p, t = np.asarray(predicted) > 0, np.asarray(truth) > 0
    total = int(p.sum()) + int(t.sum())
    return 1.0 if total == 0 else 2.0 * float((p & t).sum()) / total


def dice_from_counts(tp: int, fp: int, fn: int) -> float:
    """Dice from pooled counts: ``2TP / (2TP + FP + FN)``; 1.0 when all are zero."""
    total = 2 * tp + fp + fn
    return 1.0 if total == 0 else 2.0 * tp / total


def oracle_dice(labels: np.ndarray, scores: np.ndarray) -> tuple[float, float]:
    """The best Dice over all thresholds, chosen on the data it is reported on: an *oracle* upper bound (⌈Dice⌉).

    Dice equals F1, so this is the maximum F1 along sklearn's precision-recall curve.

    Returns:
        ``(dice, threshold)``; NaN when there are no positives.
    """
    y = np.asarray(labels).ravel() > 0
    if not y.any():
        return float("nan"), float("nan")
    precision, recall, thresholds = precision_recall_curve(y, np.asarray(scores, np.float64).ravel())
    f1 = 2 * precision * recall / np.maximum(precision + recall, 1e-12)
    best = int(np.argmax(f1[:-1])) if len(thresholds) else 0
    return float(f1[best]), float(thresholds[best]) if len(thresholds) else float("nan")


def lesion_detection(predicted: np.ndarray, lesions: np.ndarray) -> tuple[int, int]:
    """Count ground-truth lesions (26-connected components of ``lesions > 0``) that ``predicted`` touches.

    Returns:
        ``(detected, total)``.
    """
    components, total = ndimage.label(np.asarray(lesions) > 0, structure=np.ones((3,) * np.ndim(lesions)))
    if total == 0:
        return 0, 0
    hit = np.unique(components[(np.asarray(predicted) > 0) & (components > 0)])
    return int(hit.size), int(total)
