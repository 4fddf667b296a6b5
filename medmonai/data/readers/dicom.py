"""Real image patches from the DICOM test files that ship inside pydicom: an offline "other data set"."""

from __future__ import annotations

import logging
import warnings
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from medmonai.errors import ConfigError, DataError

__all__ = ["dicom_patches"]

logger = logging.getLogger(__name__)


def _slices(path: Path) -> list[np.ndarray]:
    import pydicom

    with warnings.catch_warnings():  # the test files are deliberately odd; their warnings are noise here
        warnings.simplefilter("ignore")
        try:
            pixels = np.asarray(pydicom.dcmread(path).pixel_array, np.float32)
        except Exception:  # compressed without a decoder, no pixel data, ...: not usable, skip
            return []
    if pixels.ndim == 3 and pixels.shape[-1] in (3, 4):
        pixels = pixels[..., :3].mean(-1)
    frames = pixels.reshape(-1, *pixels.shape[-2:])
    return [f for f in frames if min(f.shape) >= 48 and f.max() > f.min()]


def dicom_patches(n: int, size: int = 28, seed: int = 0) -> np.ndarray:
    """Cut ``n`` random square patches from pydicom's shipped test images and resize them to ``size``.

    Only files inside the installed package are read (nothing is downloaded). Each patch is a random square of
    a quarter to a half of the image's shorter side (flat background redrawn), min-max scaled to [0, 1] and
    area-resized.

    Args:
        n: number of patches.
        size: output height and width. Defaults to 28.
        seed: sampling seed. Defaults to 0.

    Returns:
        ``(n, size, size)`` float32 in [0, 1].

    Raises:
        ConfigError: pydicom is not installed.
        DataError: no usable image was found.
    """
    try:
        import pydicom.data
    except ImportError as e:
        raise ConfigError("the offline 'other data set' needs pydicom's test images: pip install pydicom") from e
    folder = Path(pydicom.data.__file__).parent / "test_files"
    pydicom_logger = logging.getLogger("pydicom")
    level = pydicom_logger.level
    pydicom_logger.setLevel(logging.CRITICAL + 1)  # test files are deliberately malformed: their errors are noise
    try:
        images = [s for path in sorted(folder.glob("**/*.dcm")) for s in _slices(path)]
    finally:
        pydicom_logger.setLevel(level)
    if not images:
        raise DataError(f"{folder}: no readable DICOM test images")
    rng = np.random.default_rng(seed)
    patches = np.empty((n, size, size), np.float32)
    for i in range(n):
        for _ in range(20):  # redraw flat patches (background), a few times at most
            image = images[rng.integers(len(images))]
            side = int(rng.integers(min(image.shape) // 4, min(image.shape) // 2 + 1))
            y, x = (int(rng.integers(0, d - side + 1)) for d in image.shape)
            patch = image[y : y + side, x : x + side]
            if patch.std() > 0.05 * max(float(image.std()), 1e-6):
                break
        patch = (patch - patch.min()) / max(float(patch.max() - patch.min()), 1e-6)
        resized = F.interpolate(torch.from_numpy(patch)[None, None], size=(size, size), mode="area")
        patches[i] = resized[0, 0].numpy()
    logger.info(f"{n} patches from {len(images)} pydicom test images")
    return patches
