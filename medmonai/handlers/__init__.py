"""Ignite handlers: what attaches to an engine and saves, logs, writes or reports.

Checkpoints and weights, progress, training summaries, per-epoch reseeding, metric means, map and score writers,
and the reports that collect an evaluator's outputs into figures and tables.
"""

from medmonai.handlers.anomaly_collector import AnomalyCollector
from medmonai.handlers.checkpoint import (
    ModelExporter,
    ResumableCheckpoint,
    RNGState,
    WeightsLoader,
    latest_checkpoint,
    load_weights,
)
from medmonai.handlers.disease_report import DiseaseAUCReport
from medmonai.handlers.histogram import ValueHistogram
from medmonai.handlers.ignite_metrics import ItemMean, mean_of
from medmonai.handlers.latent_report import LatentReport
from medmonai.handlers.map_writer import MapWriter
from medmonai.handlers.progress import TrainingProgressBar
from medmonai.handlers.reseed import EpochReseed
from medmonai.handlers.score_table import ScoreTable
from medmonai.handlers.training_summary import TrainingSummary

__all__ = [
    "AnomalyCollector",
    "DiseaseAUCReport",
    "EpochReseed",
    "ItemMean",
    "LatentReport",
    "MapWriter",
    "ModelExporter",
    "RNGState",
    "ResumableCheckpoint",
    "ScoreTable",
    "TrainingProgressBar",
    "TrainingSummary",
    "ValueHistogram",
    "WeightsLoader",
    "latest_checkpoint",
    "load_weights",
    "mean_of",
]
