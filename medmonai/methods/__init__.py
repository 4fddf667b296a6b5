"""Anomaly methods, one folder each, and the one registry a bundle's ``--model`` picks them from.

Adding a method is one folder, ``medmonai/methods/<name>/`` holding an :class:`AnomalyMethod` subclass that builds
its network, loss, corruption and map, and one line in :data:`METHODS` (``medmonai/methods/registry.py``).
"""

from medmonai.methods.base import INPUTS, AnomalyMethod
from medmonai.methods.registry import METHODS, MethodRegistry
from medmonai.methods.selection import anomaly_mappers, available, calibration_paths, create, shown_method

__all__ = [
    "INPUTS",
    "METHODS",
    "AnomalyMethod",
    "MethodRegistry",
    "anomaly_mappers",
    "available",
    "calibration_paths",
    "create",
    "shown_method",
]
