"""2-D pictures (PNG, JPEG, TIFF, BMP) through PIL: checks before any output, grayscale loading, raw pixels.

One rule scales 8-bit data to [0, 1] (:func:`unit_range`); :func:`read_picture` keeps a picture's own bit depth,
so 16-bit radiographs are not cut to 8 bits.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from medmonai.errors import DataError

__all__ = [
    "IMAGE_SUFFIXES",
    "check_images",
    "load_grayscale",
    "picture_shape",
    "read_picture",
    "unit_range",
]

IMAGE_SUFFIXES = (".jpeg", ".jpg", ".png", ".tif", ".tiff", ".bmp")  # what load_grayscale reads
_INTEGER_RANGES = {"1": (0.0, 1.0), "L": (0.0, 255.0), "I;16": (0.0, 65535.0), "I;16B": (0.0, 65535.0)}
_INTEGER_RANGES.update({"I;16L": (0.0, 65535.0), "I;16N": (0.0, 65535.0)})


def check_images(paths: Sequence[str | Path], min_side: int = 8, decode: bool = False) -> None:
    """Check 2-D images before any output: readable headers, at least ``min_side`` pixels a side, whole JPEGs.

    Without ``decode`` only the header and a JPEG's last bytes are read, so tens of thousands of images (a
    training tree) are checked in seconds. With it every image is decoded too, which also finds damage inside the
    file and images of one constant value (nothing to score); for a user's folder of new images.

    Raises:
        DataError: naming the first bad file and what is wrong with it.
    """
    for path in map(Path, paths):
        try:
            with Image.open(path) as image:
                size, kind = image.size, image.format
                extent = image.convert("L").getextrema() if decode and min(size) >= min_side else None
        except (OSError, UnidentifiedImageError, SyntaxError, ValueError) as e:
            raise DataError(f"{path}: unreadable image ({e})") from e
        if min(size) < min_side:
            raise DataError(f"{path}: image is {size[0]}x{size[1]} pixels, too small (each side >= {min_side})")
        if kind == "JPEG" and not _ends_a_jpeg(path):
            raise DataError(f"{path}: truncated JPEG (no end-of-image marker)")
        if extent is not None and extent[0] == extent[1]:
            raise DataError(f"{path}: image is constant (every pixel {extent[0]}); nothing to score")


def _ends_a_jpeg(path: Path) -> bool:
    """A complete JPEG has its end-of-image marker (FF D9) at the end, give or take some padding."""
    with path.open("rb") as f:
        f.seek(max(0, path.stat().st_size - 64))
        return b"\xff\xd9" in f.read()


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
    return unit_range(np.asarray(crop))[None]


def read_picture(path: Path) -> tuple[np.ndarray, tuple[float, float] | None]:
    """Decode a picture whole: its pixels (float32 ``(H, W)``) and its dtype's range (None: scale by min-max).

    8-bit pictures (and colour ones, converted to luminance) have the range 0-255, 16-bit ones 0-65535; 32-bit
    integer pictures holding values in 0-65535 (as PIL opens some 16-bit files) count as 16-bit; float pictures
    and wider integers are scaled by their own minimum and maximum.

    Raises:
        DataError: the file is unreadable, or its pixels are not single-channel.
    """
    try:
        with Image.open(path) as image:
            if image.mode not in _INTEGER_RANGES and image.mode not in ("I", "F"):
                image = image.convert("L")
            mode, pixels = image.mode, np.asarray(image)
    except (OSError, UnidentifiedImageError, SyntaxError, ValueError) as e:
        raise DataError(f"{path}: unreadable image ({e})") from e
    if pixels.ndim != 2:
        raise DataError(f"{path}: expected a single-channel image, got pixels of shape {pixels.shape}")
    pixels = pixels.astype(np.float32)
    if mode == "I" and pixels.size and pixels.min() >= 0 and pixels.max() <= 65535:
        return pixels, (0.0, 65535.0)
    return pixels, _INTEGER_RANGES.get(mode)


def picture_shape(path: Path) -> tuple[int, int]:
    """A picture's ``(H, W)`` from its header (PIL opens lazily: the pixels are not decoded)."""
    with Image.open(path) as image:
        width, height = image.size
    return (height, width)
