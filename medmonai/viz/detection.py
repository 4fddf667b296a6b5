"""Figures of image-level detectors side by side: ROC curves, score histograms, and maps of lesion images."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from matplotlib.figure import Figure

__all__ = ["detector_maps_figure", "detector_roc_figure", "score_histograms_figure"]


def detector_roc_figure(curves: Mapping[str, dict], aurocs: Mapping[str, float], title: str) -> Figure:
    """One ROC curve per detector (``{"fpr", "tpr"}``), its AUROC in the legend."""
    fig = Figure(figsize=(5.5, 5.0))
    ax = fig.add_subplot()
    for detector, curve in curves.items():
        ax.plot(curve["fpr"], curve["tpr"], label=f"{detector} (AUROC {aurocs[detector]:.3f})")
    ax.plot([0, 1], [0, 1], color="gray", linestyle=":", linewidth=1)
    ax.set(xlabel="false-positive rate", ylabel="true-positive rate", title=f"{title}: healthy vs lesion")
    ax.legend(fontsize=8, loc="lower right")
    return fig


def score_histograms_figure(scores: Mapping[str, np.ndarray], labels: np.ndarray) -> Figure:
    """Per detector, the histograms of its healthy (label 0) and lesion (label 1) scores on shared bins."""
    fig = Figure(figsize=(4.0 * len(scores), 4.0))
    for i, (detector, values) in enumerate(scores.items()):
        ax = fig.add_subplot(1, len(scores), i + 1)
        edges = np.histogram_bin_edges(values, bins=30)
        ax.hist(values[labels == 0], bins=edges, alpha=0.6, label=f"healthy (n={(labels == 0).sum()})")
        ax.hist(values[labels == 1], bins=edges, alpha=0.6, label=f"lesion (n={(labels == 1).sum()})")
        ax.set(xlabel=f"{detector} score", ylabel="count", title=detector)
        ax.legend(fontsize=8)
    return fig


def detector_maps_figure(
    images: np.ndarray, maps: Mapping[str, np.ndarray], masks: np.ndarray, rows: np.ndarray, title: str
) -> Figure:
    """The ``rows`` images (channel 0) beside each detector's map, lesion masks outlined in cyan.

    Args:
        images: ``(N, C, H, W)``.
        maps: ``{column title: (N, H, W) map}``.
        masks: ``(N, H, W)`` bool.
        rows: the indices drawn, one row each.
        title: the figure's title.
    """
    columns = ["image (channel 0)", *maps]
    fig = Figure(figsize=(2.2 * len(columns), 2.2 * max(len(rows), 1) + 0.6))
    for row, index in enumerate(rows):
        panels = [images[index, 0], *(m[index] for m in maps.values())]
        for col, panel in enumerate(panels):
            ax = fig.add_subplot(len(rows), len(columns), row * len(columns) + col + 1)
            ax.imshow(panel, cmap="gray" if col == 0 else "hot")
            if masks[index].any():
                ax.contour(masks[index].astype(float), levels=[0.5], colors="cyan", linewidths=0.8)
            ax.set_xticks([])
            ax.set_yticks([])
            if row == 0:
                ax.set_title(columns[col], fontsize=8)
    fig.suptitle(f"{title}: lesion test images (cyan: lesion mask)")
    return fig
