"""Ignite handlers: what attaches to an engine and saves, logs, writes or reports.

Checkpoints and weights, progress, training summaries, per-epoch reseeding, metric means, map and score writers,
and the reports, which all build on :class:`ScoreBuffer`: it keeps an evaluator's per-item outputs over a run
and reports when the run completes. Study-specific reports live in :mod:`medmonai.apps`.
"""

from medmonai.handlers.anomaly_collector import AnomalyCollector
from medmonai.handlers.case_report import CaseReport, lesion_summary
from medmonai.handlers.checkpoint import (
    ModelExporter,
    ResumableCheckpoint,
    RNGState,
    latest_checkpoint,
    load_weights,
)
from medmonai.handlers.histogram import ValueHistogram
from medmonai.handlers.ignite_metrics import ItemMean, mean_of
from medmonai.handlers.image_calibration import IMAGE_CASE_COLUMNS, ImageCalibrationWriter, ImageCaseReport
from medmonai.handlers.latent_report import LatentReport
from medmonai.handlers.map_writer import MapWriter
from medmonai.handlers.progress import TrainingProgressBar
from medmonai.handlers.reseed import EpochReseed, RankSeeds, SetEpoch
from medmonai.handlers.score_buffer import ScoreBuffer, as_array
from medmonai.handlers.score_table import ScoreTable
from medmonai.handlers.training_summary import TrainingSummary

__all__ = [
    "AnomalyCollector",
    "CaseReport",
    "EpochReseed",
    "IMAGE_CASE_COLUMNS",
    "ImageCalibrationWriter",
    "ImageCaseReport",
    "ItemMean",
    "LatentReport",
    "MapWriter",
    "ModelExporter",
    "RNGState",
    "RankSeeds",
    "ResumableCheckpoint",
    "ScoreBuffer",
    "ScoreTable",
    "SetEpoch",
    "TrainingProgressBar",
    "TrainingSummary",
    "ValueHistogram",
    "as_array",
    "latest_checkpoint",
    "lesion_summary",
    "load_weights",
    "mean_of",
]
