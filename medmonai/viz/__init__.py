"""Figures and projections for reports."""

from medmonai.viz.anomaly import (
    calibrated_image_figure,
    calibrated_overlay_figure,
    focus_voxel,
    mask_overlay_figure,
    orientation_labels,
    overlay_figure,
    roc_pr_figure,
)
from medmonai.viz.detection import detector_maps_figure, detector_roc_figure, score_histograms_figure
from medmonai.viz.embedding import embed_2d
from medmonai.viz.figures import histogram_figure, image_grid_figure, latent_scatter_figure

__all__ = [
    "calibrated_image_figure",
    "calibrated_overlay_figure",
    "detector_maps_figure",
    "detector_roc_figure",
    "embed_2d",
    "focus_voxel",
    "histogram_figure",
    "image_grid_figure",
    "latent_scatter_figure",
    "mask_overlay_figure",
    "orientation_labels",
    "overlay_figure",
    "roc_pr_figure",
    "score_histograms_figure",
]
