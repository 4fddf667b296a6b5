"""On/off settings from configs and the command line, where ``--flag false`` arrives as the string "false"."""

from __future__ import annotations

from medmonai.errors import ConfigError

__all__ = ["as_flag"]

_WORDS = {"true": True, "yes": True, "on": True, "1": True, "false": False, "no": False, "off": False, "0": False}


def as_flag(value: object, name: str = "flag") -> bool:
    """``value`` as a bool: a bool, 0 or 1, or one of true/false, yes/no, on/off (any case).

    Raises:
        ConfigError: anything else, naming ``name``.
    """
    if isinstance(value, bool):
        return value
    word = str(value).strip().lower()
    if word not in _WORDS:
        raise ConfigError(f"{name} must be true or false, got {value!r}")
    return _WORDS[word]
