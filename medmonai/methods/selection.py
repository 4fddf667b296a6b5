"""Which methods an evaluation or an inference runs, their mappers, and where their calibrations go."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import torch
from monai.inferers import SlidingWindowInferer

from medmonai import runs
from medmonai.errors import ConfigError
from medmonai.methods.base import AnomalyMethod
from medmonai.methods.derived import DerivedMethod
from medmonai.methods.registry import METHODS
from medmonai.scoring import SlidingWindowMapper

__all__ = ["anomaly_mappers", "available", "calibration_paths", "create", "shown_method"]

logger = logging.getLogger(__name__)


def create(name: str, settings: Mapping[str, Any] | None = None) -> AnomalyMethod:
    """Method ``name`` of :data:`medmonai.methods.METHODS`, given the entries of ``settings`` it takes."""
    return METHODS.create(name, settings)


def available(
    output_dir: str | Path,
    requested: Sequence[str] | str = "auto",
    settings: Mapping[str, Any] | None = None,
) -> dict[str, AnomalyMethod]:
    """The methods to evaluate, in registry order for ``"auto"``: every method that can map now.

    Args:
        output_dir: the training ``output_dir``, where a trained method's weights are
            (:func:`medmonai.runs.weights_path`).
        requested: method names, or ``"auto"``: the methods that need no weights, and the trained ones whose
            weights exist. Defaults to ``"auto"``.
        settings: the bundle's ``method_settings`` (see :func:`create`). Defaults to None.

    Raises:
        ConfigError: a requested method is unknown or untrained, or there is nothing to evaluate.
    """
    if requested == "auto":
        names = [n for n, cls in METHODS.items() if not cls.needs_weights or runs.weights_path(output_dir, n).is_file()]
        logger.info(f"methods found: {names or 'none'}")
    else:
        names = [requested] if isinstance(requested, str) else list(requested)
        for name in names:
            path = runs.weights_path(output_dir, name)
            if METHODS[name].needs_weights and not path.is_file():
                raise ConfigError(f"{path}: no weights for method {name!r}; train it first")
    if not names:
        raise ConfigError(f"nothing to evaluate: no method in {output_dir} can map (train one first)")
    return {name: create(name, settings) for name in names}


def anomaly_mappers(
    methods: Mapping[str, AnomalyMethod],
    inferer: SlidingWindowInferer,
    output_dir: str | Path | None = None,
    weights: Mapping[str, str | Path] | None = None,
    device: torch.device | str = "cpu",
) -> dict[str, SlidingWindowMapper]:
    """One :class:`medmonai.scoring.SlidingWindowMapper` per method, its weights loaded when it needs them.

    Args:
        methods: ``{name: method}`` (see :func:`available`).
        inferer: MONAI's ``SlidingWindowInferer`` (window, overlap, blending) every map is tiled with.
        output_dir: the training ``output_dir``: weights are read from the run folder. Defaults to None.
        weights: ``{name: weights path}``, which takes precedence (a shared package's ``models/model.pt``).
            Defaults to None.
        device: where the networks run. Defaults to ``"cpu"``.

    Raises:
        ConfigError: a method needs weights and neither ``weights`` nor ``output_dir`` says where.
        CheckpointError: a weights file is missing or does not fit its network.
    """
    mappers = {}
    for name, method in methods.items():
        path = (weights or {}).get(name)
        if path is None and output_dir is not None:
            path = runs.weights_path(output_dir, name)
        mappers[name] = method.mapper(inferer, path, device=device)
    return mappers


def calibration_paths(methods: Mapping[str, AnomalyMethod] | Sequence[str], output_dir: str | Path) -> dict[str, str]:
    """``{name: <output_dir>/<name>/thresholds.json}``: where each method's calibration goes."""
    return {name: str(runs.calibration_path(output_dir, name)) for name in methods}


def shown_method(
    preferred: str, model: str, mappers: Mapping, derived: Mapping[str, DerivedMethod] | None = None
) -> str:
    """The method whose maps an evaluation writes: ``preferred`` if evaluated, else ``model``, else the first mapper.

    Args:
        preferred: a method or derived method name (e.g. ``"ssad3d|intensity"``).
        model: the bundle's ``--model``.
        mappers: the evaluated methods, ``{name: mapper}``.
        derived: ``{name: derived method}`` in evaluation order; one is evaluated when all its ``methods`` are.
            Defaults to None.
    """
    evaluated = set(mappers)
    for name, method in (derived or {}).items():
        if set(method.methods) <= evaluated:
            evaluated.add(name)
    for name in (preferred, model):
        if name in evaluated:
            return name
    return next(iter(mappers))
