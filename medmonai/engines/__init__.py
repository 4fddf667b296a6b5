"""Ignite/MONAI engines: trainers, evaluators, and the 3-D evaluation protocol that drives two evaluators.

Handlers (checkpoints, progress, summaries, writers, reports) live in :mod:`medmonai.handlers`.
"""

from medmonai.engines.anomaly_evaluation import AnomalyEvaluation
from medmonai.engines.anomaly_evaluator import AnomalyMapEvaluator
from medmonai.engines.gan_trainer import GANTrainer, ema_generator, stage_images
from medmonai.engines.progressive import Progress, ProgressiveSchedule, check_progressive_shape
from medmonai.engines.reconstruction_evaluator import ReconstructionErrorEvaluator
from medmonai.engines.segmentation_trainer import AnomalySegmentationTrainer
from medmonai.engines.ssl_trainer import SelfSupervisedObjective, SelfSupervisedTrainer, objective_loss
from medmonai.engines.vae_evaluator import VAEEvaluator
from medmonai.engines.vae_trainer import CorruptedBatch, OutputLoss, ReconstructionTrainer

__all__ = [
    "AnomalyEvaluation",
    "AnomalyMapEvaluator",
    "AnomalySegmentationTrainer",
    "CorruptedBatch",
    "GANTrainer",
    "OutputLoss",
    "Progress",
    "ProgressiveSchedule",
    "ReconstructionErrorEvaluator",
    "ReconstructionTrainer",
    "SelfSupervisedObjective",
    "SelfSupervisedTrainer",
    "VAEEvaluator",
    "check_progressive_shape",
    "ema_generator",
    "objective_loss",
    "stage_images",
]
