"""A config switch: pick one option of a dict by a name given on the command line."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from medmonai.errors import ConfigError

__all__ = ["choose"]


def choose(options: Mapping, name: str, what: str = "model") -> Any:
    """``options[name]``, or a :class:`ConfigError` listing the valid names (for ``--model`` style switches)."""
    if name not in options:
        raise ConfigError(f"{what} must be one of {sorted(options)}, got {name!r}")
    return options[name]
