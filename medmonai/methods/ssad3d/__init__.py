"""A self-supervised 3-D anomaly segmenter, trained to find synthetic anomalies in healthy patches."""

from medmonai.methods.ssad3d.method import SelfSupervisedSegmenter3D

__all__ = ["SelfSupervisedSegmenter3D"]
