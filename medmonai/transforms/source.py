"""Where an array came from, for error messages."""

from __future__ import annotations

from typing import Any

__all__ = ["source_of"]


def source_of(img: Any, default: str = "image") -> str:
    """The file an image was loaded from (MONAI ``MetaTensor`` meta), or ``default``."""
    meta = getattr(img, "meta", None) or {}
    name = meta.get("filename_or_obj")
    return str(name) if name else default
