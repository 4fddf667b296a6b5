"""Metrics: pure functions on arrays, reused by handlers and bundles."""

from medmonai.metrics.detection import (
    auroc_ap,
    dice_from_counts,
    lesion_detection,
    ranking_metrics,
)
from medmonai.metrics.latent import latent_separation

__all__ = [
    "auroc_ap",
    "dice_from_counts",
    "latent_separation",
    "lesion_detection",
    "ranking_metrics",
]
