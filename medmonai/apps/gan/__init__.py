"""The ``medical_gan`` bundle's study code: data splits, sample quality, GAN anomaly detectors, synthetic export."""

from medmonai.apps.gan.data import EMBEDDED_CHANNELS, channel_names, gan_datalists, labelled_test_set
from medmonai.apps.gan.detection import DETECTORS, GANDetectionEvaluator, GANDetectionProtocol
from medmonai.apps.gan.export import export_samples
from medmonai.apps.gan.fanogan import (
    IziFLoss,
    IziFNetwork,
    discriminator_anomaly_scores,
    fanogan_maps,
    fanogan_scores,
)
from medmonai.apps.gan.quality import (
    GANQualityReport,
    StageSampleGrids,
    gan_quality,
    interpolate,
    sample_images,
    stack_images,
    tiled,
    write_quality_report,
)

__all__ = [
    "DETECTORS",
    "GANDetectionEvaluator",
    "GANDetectionProtocol",
    "IziFLoss",
    "IziFNetwork",
    "EMBEDDED_CHANNELS",
    "GANQualityReport",
    "StageSampleGrids",
    "channel_names",
    "discriminator_anomaly_scores",
    "export_samples",
    "fanogan_maps",
    "fanogan_scores",
    "gan_datalists",
    "labelled_test_set",
    "gan_quality",
    "interpolate",
    "sample_images",
    "stack_images",
    "tiled",
    "write_quality_report",
]
