"""Ignite/MONAI engines: trainers, evaluators, and the detection pipeline that drives them.

The pipeline (:mod:`medmonai.engines.detection`) collects an evaluator's outputs with :class:`ScoreBuffer`,
calibrates on healthy data, then scores, flags and reports; the 3-D protocol (:class:`AnomalyEvaluation`) and the
GAN detectors (:class:`GANDetectionProtocol`) are its configurations. Handlers (checkpoints, progress, summaries,
writers, reports) live in :mod:`medmonai.handlers` and may import engines, never the reverse.
"""

from medmonai.engines.anomaly_collector import HEALTHY, AnomalyCollector
from medmonai.engines.anomaly_evaluation import AnomalyEvaluation
from medmonai.engines.anomaly_evaluator import AnomalyMapEvaluator
from medmonai.engines.collect import ScoreBuffer, as_array, collect
from medmonai.engines.detection import DetectionProtocol
from medmonai.engines.gan_detection import DETECTORS, SCORE_COLUMNS, GANDetectionEvaluator, GANDetectionProtocol
from medmonai.engines.gan_trainer import GANTrainer, ema_generator, stage_images
from medmonai.engines.progressive import Progress, ProgressiveSchedule, check_progressive_shape
from medmonai.engines.reconstruction_evaluator import ReconstructionErrorEvaluator
from medmonai.engines.segmentation_trainer import AnomalySegmentationTrainer
from medmonai.engines.ssl_trainer import SelfSupervisedObjective, SelfSupervisedTrainer, objective_loss
from medmonai.engines.vae_evaluator import VAEEvaluator
from medmonai.engines.vae_trainer import CorruptedBatch, OutputLoss, ReconstructionTrainer

__all__ = [
    "DETECTORS",
    "HEALTHY",
    "SCORE_COLUMNS",
    "AnomalyCollector",
    "AnomalyEvaluation",
    "AnomalyMapEvaluator",
    "AnomalySegmentationTrainer",
    "CorruptedBatch",
    "DetectionProtocol",
    "GANDetectionEvaluator",
    "GANDetectionProtocol",
    "GANTrainer",
    "OutputLoss",
    "Progress",
    "ProgressiveSchedule",
    "ReconstructionErrorEvaluator",
    "ReconstructionTrainer",
    "ScoreBuffer",
    "SelfSupervisedObjective",
    "SelfSupervisedTrainer",
    "VAEEvaluator",
    "as_array",
    "check_progressive_shape",
    "collect",
    "ema_generator",
    "objective_loss",
    "stage_images",
]
