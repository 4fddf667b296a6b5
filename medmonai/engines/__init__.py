"""Ignite/MONAI engines and handlers."""

from medmonai.engines.checkpoint import (
    ModelExporter,
    ResumableCheckpoint,
    RNGState,
    WeightsLoader,
    latest_checkpoint,
    load_weights,
)
from medmonai.engines.histogram import ValueHistogram
from medmonai.engines.ignite_metrics import ItemMean, mean_of
from medmonai.engines.latent_report import LatentReport
from medmonai.engines.progress import TrainingProgressBar
from medmonai.engines.training_summary import TrainingSummary
from medmonai.engines.vae_evaluator import VAEEvaluator
from medmonai.engines.vae_trainer import VAETrainer

__all__ = [
    "ItemMean",
    "LatentReport",
    "ModelExporter",
    "RNGState",
    "ResumableCheckpoint",
    "TrainingProgressBar",
    "TrainingSummary",
    "VAEEvaluator",
    "VAETrainer",
    "ValueHistogram",
    "WeightsLoader",
    "latest_checkpoint",
    "load_weights",
    "mean_of",
]
