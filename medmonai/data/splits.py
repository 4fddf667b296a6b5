"""Seeded splits: by class (stratified), by case, and by group (patient), so no case or patient is in two splits."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeVar

import numpy as np
from sklearn.model_selection import train_test_split

from medmonai.errors import ConfigError, DataError

__all__ = ["parse_classes", "select_classes", "split_by_group", "split_cases", "stratified_split"]

Item = TypeVar("Item")


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


def split_cases(case_ids: Sequence[str], test_fraction: float, val_fraction: float, seed: int) -> dict[str, list[str]]:
    """Seeded split of case ids into train/val/test, at least one case in each.

    Raises:
        DataError: fewer than 3 cases.
        ConfigError: fractions outside (0, 1) or summing to 1 or more.
    """
    if not (0 < test_fraction < 1 and 0 < val_fraction < 1 and test_fraction + val_fraction < 1):
        raise ConfigError(
            f"test_fraction and val_fraction must be in (0, 1) with sum < 1, got {test_fraction}, {val_fraction}"
        )
    if len(case_ids) < 3:
        raise DataError(f"splitting by case needs at least 3 cases, got {len(case_ids)}")
    order = [case_ids[i] for i in np.random.default_rng(seed).permutation(len(case_ids))]
    n_test = max(1, round(test_fraction * len(order)))
    n_val = max(1, round(val_fraction * len(order)))
    if n_test + n_val >= len(order):
        n_test, n_val = 1, 1
    return {"test": order[:n_test], "val": order[n_test : n_test + n_val], "train": order[n_test + n_val :]}


def split_by_group(
    items: Sequence[Item], group: Callable[[Item], str], val_fraction: float, seed: int
) -> tuple[list[Item], list[Item]]:
    """Hold out a seeded ``val_fraction`` of the groups (e.g. patients), with every item of a held-out group.

    Args:
        items: e.g. image paths.
        group: an item's group, e.g. its patient id.
        val_fraction: share of groups held out; at least one group stays on each side.
        seed: seed of the draw.

    Returns:
        ``(kept, held_out)`` items, each in the input order.

    Raises:
        DataError: fewer than 2 groups.
    """
    groups = sorted({group(i) for i in items})
    if len(groups) < 2:
        where = Path(str(items[0])).parent if items else "the data"
        raise DataError(f"{where}: need at least 2 patients (groups) to hold some out, got {len(groups)}")
    order = np.random.default_rng(seed).permutation(len(groups))
    n_val = min(max(1, round(val_fraction * len(groups))), len(groups) - 1)
    held = {groups[i] for i in order[:n_val]}
    return [i for i in items if group(i) not in held], [i for i in items if group(i) in held]
