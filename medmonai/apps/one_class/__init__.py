"""One-class detection from reconstruction error on MNIST-style data (the ``medmnist_ae_anomaly`` bundle).

The experiment's image sets (normal training images, test normals, anomalies of three kinds) and its report,
beside the published Table 1 it reproduces.
"""

from medmonai.apps.one_class.data import DEFAULT_NORMAL_CLASSES, OneClassSets, one_class_items, one_class_sets
from medmonai.apps.one_class.report import REFERENCE_004_TABLE1, OneClassReport, one_class_metrics, one_class_table

__all__ = [
    "DEFAULT_NORMAL_CLASSES",
    "REFERENCE_004_TABLE1",
    "OneClassReport",
    "OneClassSets",
    "one_class_items",
    "one_class_metrics",
    "one_class_sets",
    "one_class_table",
]
