"""Ignite handlers: what attaches to an engine and saves, logs, writes or reports.

Checkpoints and weights, progress, training summaries, per-epoch reseeding, metric means, map and score writers,
and the reports, which all build on the detection pipeline's one collector, :class:`medmonai.engines.ScoreBuffer`:
it keeps an evaluator's per-item outputs over a run and reports when the run completes. Handlers import engines,
never the reverse. Study-specific reports live in :mod:`medmonai.apps`.
"""

from medmonai.handlers.case_report import CASE_COLUMNS, IMAGE_CASE_COLUMNS, CaseReport, lesion_summary
from medmonai.handlers.checkpoint import (
    ModelExporter,
    ResumableCheckpoint,
    RNGState,
    latest_checkpoint,
)
from medmonai.handlers.histogram import ValueHistogram
from medmonai.handlers.ignite_metrics import ItemMean, mean_of
from medmonai.handlers.image_calibration import ImageCalibrationWriter
from medmonai.handlers.latent_report import LatentReport
from medmonai.handlers.map_writer import MapWriter
from medmonai.handlers.progress import TrainingProgressBar
from medmonai.handlers.reseed import EpochReseed, RankSeeds, SetEpoch
from medmonai.handlers.score_table import ScoreTable
from medmonai.handlers.training_summary import TrainingSummary

__all__ = [
    "CASE_COLUMNS",
    "CaseReport",
    "EpochReseed",
    "IMAGE_CASE_COLUMNS",
    "ImageCalibrationWriter",
    "ItemMean",
    "LatentReport",
    "MapWriter",
    "ModelExporter",
    "RNGState",
    "RankSeeds",
    "ResumableCheckpoint",
    "ScoreTable",
    "SetEpoch",
    "TrainingProgressBar",
    "TrainingSummary",
    "ValueHistogram",
    "latest_checkpoint",
    "lesion_summary",
    "mean_of",
]
