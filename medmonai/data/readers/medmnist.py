"""Reader for MedMNIST ``.npz`` files (any 2-D data set, any size variant: 28, 64, 128 or 224)."""

from __future__ import annotations

import zipfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from medmonai.data.readers.arrays import SplitArrays
from medmonai.data.splits import parse_classes
from medmonai.errors import ConfigError, DataError

__all__ = ["MEDMNIST_KEYS", "MEDMNIST_NORMAL_CLASSES", "medmnist_normal_classes", "read_medmnist"]

MEDMNIST_KEYS = ("train_images", "train_labels", "val_images", "val_labels", "test_images", "test_labels")
# the normal labels of the MedMNIST sets with one normal class, by file name prefix (as reference 004 trains them)
MEDMNIST_NORMAL_CLASSES = {"pneumoniamnist": [0], "octmnist": [3]}
_LUMA = np.array([0.299, 0.587, 0.114])


def _images(array: np.ndarray, path: Path, key: str) -> np.ndarray:
    if array.ndim == 4 and array.shape[-1] in (1, 3):
        array = array[..., 0] if array.shape[-1] == 1 else np.rint(array @ _LUMA).astype(np.uint8)
    if array.ndim != 3 or array.shape[1] < 2 or array.shape[2] < 2:
        raise DataError(f"{path}: {key} must hold 2-D images (N, H, W[, C]), got shape {array.shape}")
    return array


def _labels(array: np.ndarray, n: int, path: Path, key: str) -> np.ndarray:
    if array.ndim == 2 and array.shape[1] == 1:
        array = array[:, 0]
    if array.ndim != 1:
        raise DataError(f"{path}: {key} must hold one class per image, got shape {array.shape} (multi-label?)")
    if len(array) != n:
        raise DataError(f"{path}: {key} has {len(array)} labels for {n} images")
    return array.astype(np.int64)


def read_medmnist(path: str | Path) -> SplitArrays:
    """Read a MedMNIST ``.npz`` (e.g. ``pneumoniamnist.npz``, ``octmnist_64.npz``).

    Args:
        path: the ``.npz`` file with the keys in :data:`MEDMNIST_KEYS`.

    Returns:
        The three splits' images (uint8; RGB sets converted to grayscale with ITU-R 601 luma
        weights) and labels.

    Raises:
        DataError: the file is missing, not an npz, lacks keys, holds images that are not 2-D, or labels that do not
            match the images one to one.
    """
    path = Path(path).expanduser()
    if not path.is_file():
        raise DataError(f"{path}: MedMNIST file not found (download e.g. pneumoniamnist.npz from medmnist.com)")
    try:
        with np.load(path, allow_pickle=False) as npz:
            missing = [k for k in MEDMNIST_KEYS if k not in npz.files]
            if missing:
                raise DataError(f"{path}: missing keys {missing}; found {sorted(npz.files)}")
            arrays = {k: npz[k] for k in MEDMNIST_KEYS}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as e:
        if isinstance(e, DataError):
            raise
        raise DataError(f"{path}: not a readable .npz file ({e})") from e
    images, labels = {}, {}
    for split in ("train", "val", "test"):
        images[split] = _images(arrays[f"{split}_images"], path, f"{split}_images")
        labels[split] = _labels(arrays[f"{split}_labels"], len(images[split]), path, f"{split}_labels")
    return SplitArrays(images, labels, str(path))


def medmnist_normal_classes(
    path: str | Path, normal_classes: str | int | Sequence[int] | None = "auto"
) -> list[int] | None:
    """The normal labels of a MedMNIST file: ``normal_classes`` as given, or, for ``"auto"``, by the file's name.

    Args:
        path: the ``.npz`` file; with ``"auto"``, its name picks the labels (:data:`MEDMNIST_NORMAL_CLASSES`).
        normal_classes: a list, ``"all"``, a string like ``"0,1"``, or ``"auto"``. Defaults to ``"auto"``.

    Returns:
        The normal labels; None means every class.

    Raises:
        ConfigError: ``normal_classes`` is malformed, or ``"auto"`` for a file without defaults.
    """
    if normal_classes != "auto":
        return parse_classes(normal_classes)
    name = Path(path).name.lower()
    for prefix, classes in MEDMNIST_NORMAL_CLASSES.items():
        if name.startswith(prefix):
            return list(classes)
    raise ConfigError(f"{path}: set normal_classes; only PneumoniaMNIST and OCTMNIST have defaults (0 and 3)")
