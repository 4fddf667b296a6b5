"""Ignite/MONAI engines and handlers."""

from medmonai.engines.anomaly_collector import AnomalyCollector
from medmonai.engines.anomaly_evaluation import AnomalyEvaluation
from medmonai.engines.anomaly_evaluator import AnomalyMapEvaluator
from medmonai.engines.anomaly_methods import (
    INTENSITY_BASELINE,
    anomaly_mappers,
    choose,
    model_weights,
    shown_method,
    trained_models,
)
from medmonai.engines.checkpoint import (
    ModelExporter,
    ResumableCheckpoint,
    RNGState,
    WeightsLoader,
    latest_checkpoint,
    load_weights,
)
from medmonai.engines.disease_report import DiseaseAUCReport
from medmonai.engines.histogram import ValueHistogram
from medmonai.engines.ignite_metrics import ItemMean, mean_of
from medmonai.engines.latent_report import LatentReport
from medmonai.engines.map_writer import MapWriter
from medmonai.engines.one_class_evaluation import OneClassEvaluation, ReconstructionErrorEvaluator
from medmonai.engines.progress import TrainingProgressBar
from medmonai.engines.reseed import EpochReseed
from medmonai.engines.score_table import ScoreTable
from medmonai.engines.segmentation_trainer import AnomalySegmentationTrainer
from medmonai.engines.training_summary import TrainingSummary
from medmonai.engines.vae_evaluator import VAEEvaluator
from medmonai.engines.vae_trainer import CorruptedBatch, OutputLoss, ReconstructionTrainer

__all__ = [
    "AnomalySegmentationTrainer",
    "DiseaseAUCReport",
    "OneClassEvaluation",
    "ReconstructionErrorEvaluator",
    "INTENSITY_BASELINE",
    "EpochReseed",
    "ScoreTable",
    "anomaly_mappers",
    "choose",
    "shown_method",
    "model_weights",
    "trained_models",
    "AnomalyCollector",
    "AnomalyEvaluation",
    "AnomalyMapEvaluator",
    "MapWriter",
    "ItemMean",
    "LatentReport",
    "ModelExporter",
    "RNGState",
    "ReconstructionTrainer",
    "ResumableCheckpoint",
    "TrainingProgressBar",
    "TrainingSummary",
    "VAEEvaluator",
    "CorruptedBatch",
    "OutputLoss",
    "ValueHistogram",
    "WeightsLoader",
    "latest_checkpoint",
    "load_weights",
    "mean_of",
]
