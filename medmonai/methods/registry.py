"""The one registry of anomaly methods: a name to its class, imported only when a bundle asks for it."""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Iterator, Mapping
from typing import Any

from medmonai.errors import ConfigError
from medmonai.methods.base import INPUTS, AnomalyMethod

__all__ = ["METHODS", "MethodRegistry"]


class MethodRegistry(Mapping):
    """``{name: method class}``, in registration order; a class may be given as ``"module:Class"`` (imported lazily).

    Args:
        methods: ``{name: class or "module:Class"}``.
    """

    def __init__(self, methods: Mapping[str, type[AnomalyMethod] | str]) -> None:
        self._entries: dict[str, type[AnomalyMethod] | str] = {}
        for name, entry in methods.items():
            self.register(name, entry)

    def register(self, name: str, method: type[AnomalyMethod] | str) -> None:
        """Add ``name`` (a name already registered is refused, so two methods never share one)."""
        if name in self._entries:
            raise ConfigError(f"method {name!r} is registered already")
        self._entries[name] = method

    def unregister(self, name: str) -> None:
        """Remove ``name`` (for tests and plug-ins that registered it)."""
        del self._entries[name]

    def __getitem__(self, name: str) -> type[AnomalyMethod]:
        if name not in self._entries:
            raise ConfigError(f"method must be one of {sorted(self._entries)}, got {name!r}")
        entry = self._entries[name]
        if isinstance(entry, str):
            module, _, attr = entry.partition(":")
            entry = self._entries[name] = getattr(importlib.import_module(module), attr)
        return _checked(name, entry)

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def create(self, name: str, settings: Mapping[str, Any] | None = None) -> AnomalyMethod:
        """An instance of method ``name``, given the entries of ``settings`` its ``__init__`` takes.

        A bundle keeps one ``method_settings`` dict for all its methods; each method takes what it knows
        (``noise_std`` for the denoising autoencoders, ``anomaly_prob`` for the segmenter) and ignores the rest.
        """
        cls = self[name]
        accepted = inspect.signature(cls).parameters
        method = cls(**{k: v for k, v in (settings or {}).items() if k in accepted})
        method.name = name
        return method


def _checked(name: str, cls: type) -> type[AnomalyMethod]:
    if not (isinstance(cls, type) and issubclass(cls, AnomalyMethod)):
        raise ConfigError(f"method {name!r}: {cls!r} is not an AnomalyMethod subclass")
    if cls.input not in INPUTS:
        raise ConfigError(f"method {name!r}: input must be one of {list(INPUTS)}, got {cls.input!r}")
    if cls.needs_weights and cls.trainer is None:
        raise ConfigError(f"method {name!r} needs weights, so it must name its trainer")
    return cls


# One line per method. Adding one: its folder under medmonai/methods/, then its line here.
METHODS = MethodRegistry(
    {
        "intensity_threshold": "medmonai.methods.intensity:IntensityThreshold",
        "ae3d": "medmonai.methods.ae3d:DenoisingAE3D",
        "vae3d": "medmonai.methods.vae3d:VAE3D",
        "ae2d": "medmonai.methods.ae2d:DenoisingAE2D",
        "ssad3d": "medmonai.methods.ssad3d:SelfSupervisedSegmenter3D",
    }
)
