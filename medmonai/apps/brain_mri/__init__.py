"""The ``brain_mri_anomaly`` bundle's data: brain-MRI datalists from any source, skull-on volumes given brain masks."""

from medmonai.apps.brain_mri.data import brain_mri_datalists

__all__ = ["brain_mri_datalists"]
