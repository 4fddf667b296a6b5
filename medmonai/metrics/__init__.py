"""Metrics: pure functions on arrays, reused by handlers and bundles."""

from medmonai.metrics.detection import (
    auroc_ap,
    dice_from_counts,
    lesion_detection,
    ranking_metrics,
    sample_detection,
)
from medmonai.metrics.gan import (
    blurred_mean_baseline,
    memorisation_ratio,
    ms_ssim_diversity,
    ms_ssim_settings,
    sliced_wasserstein_distance,
)
from medmonai.metrics.latent import latent_separation
from medmonai.metrics.subjects import leave_one_subject_out, subject_means

__all__ = [
    "auroc_ap",
    "blurred_mean_baseline",
    "dice_from_counts",
    "latent_separation",
    "leave_one_subject_out",
    "lesion_detection",
    "memorisation_ratio",
    "ms_ssim_diversity",
    "ms_ssim_settings",
    "ranking_metrics",
    "sample_detection",
    "sliced_wasserstein_distance",
    "subject_means",
]
