"""Anomaly methods, one folder each, and the one registry a bundle's ``--model`` picks them from.

Adding a method is one folder, ``medmonai/methods/<name>/`` holding an :class:`AnomalyMethod` subclass that builds
its network, loss, corruption and map, and one line in :data:`METHODS` (``medmonai/methods/registry.py``).

Derived methods (:class:`DerivedMethod`) are made from other methods' maps and fitted on healthy ones: a normative
map (:class:`NormativeMap`, ``normative/``) and a combination (:class:`CombinedMap`, ``combination/``). A bundle
names each in its config with the maps it uses (``evaluate.yaml``'s ``derived``).
"""

from medmonai.methods.base import INPUTS, AnomalyMethod
from medmonai.methods.combination.method import CombinedMap
from medmonai.methods.derived import DerivedMethod
from medmonai.methods.normative.method import NormativeMap
from medmonai.methods.registry import METHODS, MethodRegistry
from medmonai.methods.selection import anomaly_mappers, available, calibration_paths, create, shown_method

__all__ = [
    "INPUTS",
    "METHODS",
    "AnomalyMethod",
    "CombinedMap",
    "DerivedMethod",
    "MethodRegistry",
    "NormativeMap",
    "anomaly_mappers",
    "available",
    "calibration_paths",
    "create",
    "shown_method",
]
