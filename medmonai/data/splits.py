"""Class selection and seeded, stratified splits."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sklearn.model_selection import train_test_split

from medmonai.errors import ConfigError, DataError

__all__ = ["parse_classes", "select_classes", "stratified_split"]


def parse_classes(classes: str | int | Sequence[int] | None) -> list[int] | None:
    """Normalise a class selection from a config or the CLI.

    Args:
        classes: ``"all"`` or None for every class; an int; a list of ints; or a string such as ``"0,1"``.

    Returns:
        A sorted list of unique ints, or None meaning all classes.

    Raises:
        ConfigError: the selection is empty or holds something that is not a non-negative integer.
    """
    if classes is None or (isinstance(classes, str) and classes.strip().lower() == "all"):
        return None
    if isinstance(classes, str):
        parts = [p for p in classes.replace("[", " ").replace("]", " ").replace(",", " ").split() if p]
    elif isinstance(classes, int):
        parts = [classes]
    else:
        parts = list(classes)
    try:
        values = sorted({int(p) for p in parts})
    except (TypeError, ValueError) as e:
        raise ConfigError(f"digits must be 'all' or a list of non-negative integers, got {classes!r}") from e
    if not values or values[0] < 0:
        raise ConfigError(f"digits must be 'all' or a list of non-negative integers, got {classes!r}")
    return values


def select_classes(
    images: np.ndarray, labels: np.ndarray, classes: list[int] | None, source: str
) -> tuple[np.ndarray, np.ndarray]:
    """Keep the samples whose label is in ``classes`` (all when None).

    Raises:
        DataError: a requested class has no sample in ``source``.
    """
    if classes is None:
        return images, labels
    available = sorted(int(c) for c in np.unique(labels))
    absent = [c for c in classes if c not in available]
    if absent:
        raise DataError(f"{source}: requested digits {absent} are not in the data; available: {available}")
    keep = np.isin(labels, classes)
    return images[keep], labels[keep]


def stratified_split(labels: np.ndarray, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Split sample indices into (rest, held_out), with ``fraction`` held out in every class.

    Args:
        labels: ``(N,)`` class labels.
        fraction: share held out, in (0, 1).
        seed: random seed; the same seed and labels give the same split.

    Returns:
        Sorted index arrays ``(rest, held_out)``.

    Raises:
        ConfigError: ``fraction`` is outside (0, 1).
        DataError: a class has too few samples to appear on both sides.
    """
    if not 0.0 < fraction < 1.0:
        raise ConfigError(f"split fraction must be in (0, 1), got {fraction}")
    indices = np.arange(len(labels))
    try:
        rest, held = train_test_split(indices, test_size=fraction, random_state=seed, stratify=labels)
    except ValueError as e:
        raise DataError(f"cannot split {len(labels)} samples with fraction {fraction}: {e}") from e
    return np.sort(rest), np.sort(held)
