"""The ``medical_gan`` bundle's study code: data splits, sample quality, synthetic export.

Its anomaly detectors live where every detector does: the f-AnoGAN network in :mod:`medmonai.networks.gan`, its
loss in :mod:`medmonai.losses`, its scores in :mod:`medmonai.scoring.gan`, the evaluator and protocol in
:mod:`medmonai.engines.gan_detection`.
"""

from medmonai.apps.gan.data import EMBEDDED_CHANNELS, channel_names, gan_datalists, labelled_test_set
from medmonai.apps.gan.export import export_samples
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
    "EMBEDDED_CHANNELS",
    "GANQualityReport",
    "StageSampleGrids",
    "channel_names",
    "export_samples",
    "gan_datalists",
    "labelled_test_set",
    "gan_quality",
    "interpolate",
    "sample_images",
    "stack_images",
    "tiled",
    "write_quality_report",
]
