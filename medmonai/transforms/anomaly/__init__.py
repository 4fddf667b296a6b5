"""Training-time synthetic anomalies for self-supervised anomaly segmenters (never used to make test lesions)."""

from medmonai.transforms.anomaly.array import ANOMALY_KINDS, SyntheticAnomalies

__all__ = ["ANOMALY_KINDS", "SyntheticAnomalies"]
