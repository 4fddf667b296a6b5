"""Anomaly scoring: per-image scores (GAN ones too), voxel maps, post-processing, and thresholds from healthy data."""

from medmonai.scoring.aggregate import IMAGE_SCORES, image_score
from medmonai.scoring.calibration import Calibration, calibrate, load_calibration
from medmonai.scoring.combine import COMBINATION_RULES, HealthyScaleCombination
from medmonai.scoring.gan import discriminator_anomaly_scores, fanogan_maps, fanogan_scores
from medmonai.scoring.images import elbo_terms, error_map, reconstruction_error
from medmonai.scoring.maps import (
    MAP_KINDS,
    RESIDUAL_KINDS,
    AnomalyProbability,
    IntensityScore,
    ReconstructionResidual,
    SlidingWindowMapper,
    window_scorer,
)
from medmonai.scoring.normative import VoxelwiseStandardization, resample_to
from medmonai.scoring.postprocess import MapPostprocessor, segment
from medmonai.scoring.thresholds import mean_std_threshold, percentile_threshold, threshold_at_fpr

__all__ = [
    "Calibration",
    "calibrate",
    "load_calibration",
    "IMAGE_SCORES",
    "MAP_KINDS",
    "RESIDUAL_KINDS",
    "AnomalyProbability",
    "COMBINATION_RULES",
    "HealthyScaleCombination",
    "IntensityScore",
    "MapPostprocessor",
    "ReconstructionResidual",
    "SlidingWindowMapper",
    "VoxelwiseStandardization",
    "discriminator_anomaly_scores",
    "elbo_terms",
    "error_map",
    "fanogan_maps",
    "fanogan_scores",
    "image_score",
    "mean_std_threshold",
    "percentile_threshold",
    "reconstruction_error",
    "resample_to",
    "segment",
    "threshold_at_fpr",
    "window_scorer",
]
