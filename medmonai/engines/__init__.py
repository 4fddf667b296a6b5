"""Ignite/MONAI engines: trainers, evaluators and the evaluation protocols that drive them.

Handlers (checkpoints, progress, summaries, writers, reports) live in :mod:`medmonai.handlers`.
"""

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
from medmonai.engines.one_class_evaluation import OneClassEvaluation, ReconstructionErrorEvaluator
from medmonai.engines.segmentation_trainer import AnomalySegmentationTrainer
from medmonai.engines.vae_evaluator import VAEEvaluator
from medmonai.engines.vae_trainer import CorruptedBatch, OutputLoss, ReconstructionTrainer

__all__ = [
    "INTENSITY_BASELINE",
    "AnomalyEvaluation",
    "AnomalyMapEvaluator",
    "AnomalySegmentationTrainer",
    "CorruptedBatch",
    "OneClassEvaluation",
    "OutputLoss",
    "ReconstructionErrorEvaluator",
    "ReconstructionTrainer",
    "VAEEvaluator",
    "anomaly_mappers",
    "choose",
    "model_weights",
    "shown_method",
    "trained_models",
]
