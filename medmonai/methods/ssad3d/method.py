"""A 3-D UNet that segments synthetic anomalies blended into healthy patches; its map is their probability."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from monai.networks.nets import UNet
from torch import nn

from medmonai.engines import AnomalySegmentationTrainer
from medmonai.methods.base import AnomalyMethod
from medmonai.scoring import AnomalyProbability
from medmonai.transforms import SyntheticAnomalies

__all__ = ["SelfSupervisedSegmenter3D"]


class SelfSupervisedSegmenter3D(AnomalyMethod):
    """Training-time anomalies only (the test lesions come from elsewhere); soft targets are their blend weights.

    Args:
        anomaly_prob: chance that a training patch receives synthetic anomalies. Defaults to 0.7.
        anomaly_radius: radii (voxels) of the synthetic anomalies. Defaults to ``(2.0, 10.0)``.
        channels: UNet channels. Defaults to ``(16, 32, 64, 128)``.
        strides: one per down step. Defaults to ``(2, 2, 2)``.
        num_res_units: residual units (they cost ~5x the training time on CPU). Defaults to 0.
    """

    prediction = None
    trainer = AnomalySegmentationTrainer
    map_kind = "probability"

    def __init__(
        self,
        anomaly_prob: float = 0.7,
        anomaly_radius: Sequence[float] = (2.0, 10.0),
        channels: Sequence[int] = (16, 32, 64, 128),
        strides: Sequence[int] = (2, 2, 2),
        num_res_units: int = 0,
    ) -> None:
        self.anomalies = {"prob": anomaly_prob, "radius_range": anomaly_radius}
        self.architecture = {"channels": channels, "strides": strides, "num_res_units": num_res_units}

    def network(self) -> nn.Module:
        """MONAI's ``UNet`` with one output channel, the logits of "anomalous" (skips are right for a segmenter)."""
        return UNet(spatial_dims=3, in_channels=1, out_channels=1, **self.architecture)

    def loss(self) -> Callable:
        """Binary cross-entropy on the logits against the soft targets."""
        return nn.BCEWithLogitsLoss()

    def corruption(self) -> Callable:
        """:class:`medmonai.transforms.SyntheticAnomalies`: ``batch -> (batch with anomalies, where they are)``."""
        return SyntheticAnomalies(**self.anomalies)

    def scorer(self, network: nn.Module | None) -> nn.Module:
        """:class:`medmonai.scoring.AnomalyProbability`."""
        return AnomalyProbability(network)
