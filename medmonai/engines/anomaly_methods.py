"""Assemble the methods an anomaly evaluation compares: the intensity baseline and every trained model."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import torch
from torch import nn

from medmonai.errors import ConfigError
from medmonai.handlers.checkpoint import load_weights
from medmonai.scoring import CALIBRATION_FILE, IntensityScore, SlidingWindowMapper, window_scorer

__all__ = [
    "INTENSITY_BASELINE",
    "choose",
    "calibration_paths",
    "model_weights",
    "trained_models",
    "anomaly_mappers",
    "normative_specs",
    "shown_method",
]

logger = logging.getLogger(__name__)
INTENSITY_BASELINE = "intensity_threshold"


def choose(options: Mapping, name: str, what: str = "model"):
    """``options[name]``, or a :class:`ConfigError` listing the valid names (for ``--model`` style switches)."""
    if name not in options:
        raise ConfigError(f"{what} must be one of {sorted(options)}, got {name!r}")
    return options[name]


def model_weights(output_dir: str | Path, models: Iterable[str]) -> dict[str, str]:
    """Where training writes each model's weights: ``{model: "<output_dir>/<model>/model.pt"}``."""
    return {m: str(Path(output_dir) / m / "model.pt") for m in models}


def calibration_paths(weights: Mapping[str, str]) -> dict[str, str]:
    """Where each trained model's calibration goes: ``thresholds.json`` beside its weights (untrained ones left out)."""
    return {m: str(Path(path).with_name(CALIBRATION_FILE)) for m, path in weights.items() if Path(path).is_file()}


def trained_models(weights: Mapping[str, str], requested: Sequence[str] | str = "auto") -> list[str]:
    """The models to evaluate: ``requested`` (all must have weights) or, for ``"auto"``, those whose weights exist.

    Args:
        weights: ``{model: weights path}``.
        requested: model names, or ``"auto"``. Defaults to ``"auto"``.

    Raises:
        ConfigError: a requested model is unknown or has no weights file.
    """
    if requested == "auto":
        found = [m for m, path in weights.items() if Path(path).is_file()]
        logger.info(f"trained models found: {found or 'none'}")
        return found
    names = [requested] if isinstance(requested, str) else list(requested)
    for name in names:
        if not Path(choose(weights, name)).is_file():
            raise ConfigError(f"{weights[name]}: no weights for model {name!r}; train it first")
    return names


def anomaly_mappers(
    networks: Mapping[str, nn.Module],
    weights: Mapping[str, str],
    models: Sequence[str],
    roi_size: Sequence[int],
    map_kinds: Mapping[str, str] | None = None,
    intensity_baseline: bool = True,
    device: torch.device | str = "cpu",
    **window: object,
) -> dict[str, SlidingWindowMapper]:
    """One :class:`SlidingWindowMapper` per method: the intensity baseline first, then each model with its weights.

    Args:
        networks: ``{model: network}`` (built, not yet loaded).
        weights: ``{model: weights path}``.
        models: models to include (see :func:`trained_models`).
        roi_size: sliding-window size.
        map_kinds: ``{model: "absolute" | "positive" | "elbo" | "probability"}``; missing models get ``"absolute"``.
            Defaults to None.
        intensity_baseline: include the intensity-thresholding baseline. Defaults to True.
        device: where the networks run. Defaults to ``"cpu"``.
        **window: ``overlap``, ``mode``, ``sw_batch_size`` for every mapper.

    Raises:
        ConfigError: no method at all, or an unknown model.
        CheckpointError: a weights file does not fit its network.
    """
    mappers = {}
    if intensity_baseline:
        mappers[INTENSITY_BASELINE] = SlidingWindowMapper(IntensityScore(), roi_size, device=device, **window)
    for model in models:
        network = choose(networks, model).to(device)
        load_weights(choose(weights, model), network, map_location=device)
        scorer = window_scorer(network, (map_kinds or {}).get(model, "absolute"))
        mappers[model] = SlidingWindowMapper(scorer, roi_size, device=device, **window)
    if not mappers:
        raise ConfigError("nothing to evaluate: no trained model found and the intensity baseline is off")
    return mappers


def normative_specs(normative: Mapping[str, str | Mapping] | None) -> dict[str, dict]:
    """``{name: method}`` or ``{name: {"method": ..., "tail": ...}}`` as ``{name: {"method": ..., ...}}``."""
    specs = (normative or {}).items()
    return {name: dict(spec) if isinstance(spec, Mapping) else {"method": spec} for name, spec in specs}


def shown_method(
    preferred: str,
    model: str,
    mappers: Mapping,
    combinations: Mapping[str, Mapping],
    normative: Mapping[str, str | Mapping] | None = None,
) -> str:
    """The method whose maps an evaluation writes: ``preferred`` if evaluated, else ``model``, else the first mapper.

    Args:
        preferred: a method, normative map or combination name (e.g. ``"ssad3d|intensity"``).
        model: the bundle's ``--model``.
        mappers: the evaluated methods, ``{name: mapper}``.
        combinations: ``{name: {"methods": [...], ...}}``; a combination is evaluated when all its methods are.
        normative: ``{name: method}`` or ``{name: {"method": ...}}``; evaluated when its method is. Defaults to None.
    """
    evaluated = set(mappers)
    evaluated |= {name for name, spec in normative_specs(normative).items() if spec["method"] in evaluated}
    evaluated |= {name for name, spec in combinations.items() if set(spec["methods"]) <= evaluated}
    for name in (preferred, model):
        if name in evaluated:
            return name
    return next(iter(mappers))
