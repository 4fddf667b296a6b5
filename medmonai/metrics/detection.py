"""Detection metrics: AUROC and AP of scores against binary labels, Dice, and lesion-wise detection."""

from __future__ import annotations

import numpy as np
from scipy import ndimage
from sklearn.metrics import average_precision_score, roc_auc_score

__all__ = ["auroc_ap", "ranking_metrics", "dice_from_counts", "lesion_detection", "sample_detection"]


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


def sample_detection(positive: np.ndarray, scores: np.ndarray, threshold: float) -> dict[str, float]:
    """Image-level detection at a threshold: ``auroc``, ``ap``, ``detection_rate`` and ``fpr``.

    An item is flagged when its score is above ``threshold``. ``detection_rate`` is the flagged share of the
    positive items, ``fpr`` that of the others; each is NaN without such items.

    Args:
        positive: ``(N,)`` bool, True for an abnormal item.
        scores: ``(N,)`` scores, higher meaning more anomalous.
        threshold: the flagging threshold (e.g. calibrated on healthy data).
    """
    positive, scores = np.asarray(positive, bool).reshape(-1), np.asarray(scores).reshape(-1)
    auroc, ap = auroc_ap(positive, scores)
    flagged = scores > threshold
    return {
        "auroc": auroc,
        "ap": ap,
        "detection_rate": float(flagged[positive].mean()) if positive.any() else float("nan"),
        "fpr": float(flagged[~positive].mean()) if (~positive).any() else float("nan"),
    }


def ranking_metrics(labels: np.ndarray, scores: np.ndarray) -> dict:
    """AUROC, average precision, oracle Dice and both curves from a single sort of the scores.

    For millions of pooled voxels, sorting dominates; sklearn's ``roc_curve`` and ``precision_recall_curve`` each
    sort again. Both curves are built here from one descending sort, as sklearn builds each of them: true and false
    positives counted at every distinct score. The ROC keeps every threshold (sklearn drops collinear points, which
    leaves its area unchanged); precision and recall come in sklearn's order, ending at ``(1, 0)``. AUROC is the
    trapezoidal area under the ROC and AP the step-wise sum over the PR curve, as ``roc_auc_score`` and
    ``average_precision_score`` compute them (tests check both).

    Returns:
        ``{"auroc", "ap", "dice_oracle", "fpr", "tpr", "precision", "recall"}``; the scalars are NaN when only
        one class is present.
    """
    y = np.asarray(labels).ravel() > 0
    s = np.asarray(scores).ravel()
    if y.all() or not y.any():
        nan = float("nan")
        return {"auroc": nan, "ap": nan, "dice_oracle": nan, "fpr": [], "tpr": [], "precision": [], "recall": []}
    order = np.argsort(s)[::-1]  # the order within tied scores does not matter: counts are taken after each tie
    s, y = s[order], y[order]
    ends = np.r_[np.flatnonzero(np.diff(s)), s.size - 1]  # the last position of every distinct score
    tps = np.cumsum(y, dtype=np.float64)[ends]
    fps = 1.0 + ends - tps
    fpr, tpr = np.r_[0.0, fps / fps[-1]], np.r_[0.0, tps / tps[-1]]
    precision, recall = np.r_[(tps / (tps + fps))[::-1], 1.0], np.r_[(tps / tps[-1])[::-1], 0.0]
    f1 = 2 * precision * recall / np.maximum(precision + recall, 1e-12)
    return {
        "auroc": float(np.trapezoid(tpr, fpr)),
        "ap": float(-np.sum(np.diff(recall) * precision[:-1])),
        "dice_oracle": float(f1[:-1].max()),
        "fpr": fpr,
        "tpr": tpr,
        "precision": precision,
        "recall": recall,
    }


def dice_from_counts(tp: int, fp: int, fn: int) -> float:
    """Dice from pooled counts: ``2TP / (2TP + FP + FN)``; 1.0 when all are zero."""
    total = 2 * tp + fp + fn
    return 1.0 if total == 0 else 2.0 * tp / total


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
