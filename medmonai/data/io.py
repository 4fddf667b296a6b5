"""Reading 2-D images into arrays in [0, 1]: one rule for 8-bit data, one grayscale reader.

Volumes are read in :mod:`medmonai.data.volumes`, and their headers checked in :mod:`medmonai.data.headers`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from medmonai.errors import DataError

__all__ = ["load_grayscale", "unit_range"]


def unit_range(images: np.ndarray) -> np.ndarray:
    """``images`` as float32 in [0, 1]: 8-bit data (uint8, or any values above 1) is divided by 255."""
    x = np.asarray(images).astype(np.float32)
    return x / 255.0 if images.dtype == np.uint8 or x.max(initial=0.0) > 1.0 else x


def load_grayscale(path: str | Path, size: int = 128) -> np.ndarray:
    """Read an image as grayscale, resize its shorter side to ``size`` (bilinear) and centre-crop a square.

    OCT B-scans are wider than tall; the crop keeps the centre of the retina. Returns ``(1, size, size)``
    float32 in [0, 1].

    Raises:
        DataError: the file is not a readable image.
    """
    try:
        with Image.open(path) as image:
            gray = image.convert("L")
    except (OSError, UnidentifiedImageError) as e:
        raise DataError(f"{path}: unreadable image ({e})") from e
    scale = size / min(gray.size)
    width, height = max(size, round(gray.width * scale)), max(size, round(gray.height * scale))
    gray = gray.resize((width, height), Image.BILINEAR)
    left, top = (width - size) // 2, (height - size) // 2
    crop = gray.crop((left, top, left + size, top + size))
    return (np.asarray(crop, np.float32) / 255.0)[None]
