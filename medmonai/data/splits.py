"""Seeded splits by class (stratified), case, group (patient) and subject hash; no case or subject is in two splits."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TypeVar

import numpy as np
from sklearn.model_selection import train_test_split

from medmonai.errors import ConfigError, DataError

__all__ = ["parse_classes", "select_classes", "split_by_group", "split_cases", "stratified_split", "subject_split"]

Item = TypeVar("Item")
DEFAULT_SUBJECT_FRACTIONS = {"train": 0.8, "val": 0.1, "test": 0.1}


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


def _subject_uniform(subject_id: str, seed: int) -> float:
    """A uniform draw in [0, 1) fixed by the subject id and the seed alone (the top 53 bits of a BLAKE2b hash)."""
    digest = hashlib.blake2b(f"{seed}:{subject_id}".encode(), digest_size=8).digest()
    return (int.from_bytes(digest, "big") >> 11) / float(1 << 53)


def subject_split(
    subject_ids: Sequence[str] | np.ndarray, fractions: Mapping[str, float] | None = None, seed: int = 0
) -> dict[str, np.ndarray]:
    """Split rows by subject with a seeded hash, so a subject's split never depends on the other rows.

    Each distinct subject id is hashed with the seed (BLAKE2b of ``f"{seed}:{id}"``) to a number in [0, 1); the
    cumulative fractions cut [0, 1) into one interval per split, in the order given. Adding, removing or reordering
    rows therefore never moves a subject, and all rows of a subject land in the same split. Split sizes follow the
    fractions on average (binomially), not exactly; a split may be empty for a handful of subjects. Ids are
    compared as text, so ``7`` and ``"7"`` are one subject.

    Args:
        subject_ids: ``(n,)`` subject id of each row (repeats allowed: several images of one subject).
        fractions: split name -> share of subjects, each > 0, summing to 1. Defaults to
            ``{"train": 0.8, "val": 0.1, "test": 0.1}``.
        seed: seed of the hash; another seed gives an independent split. Defaults to 0.

    Returns:
        Split name -> sorted int64 row indices; every row is in exactly one split.

    Raises:
        ConfigError: no fractions, a fraction not > 0, or fractions not summing to 1.
    """
    fractions = dict(DEFAULT_SUBJECT_FRACTIONS if fractions is None else fractions)
    shares = np.array([float(v) for v in fractions.values()], np.float64)
    if not len(shares) or np.any(~np.isfinite(shares)) or np.any(shares <= 0) or abs(shares.sum() - 1.0) > 1e-6:
        raise ConfigError(f"split fractions must be > 0 and sum to 1, got {fractions}")
    ids = np.asarray(subject_ids).astype(str).reshape(-1)
    unique, inverse = np.unique(ids, return_inverse=True)  # hash each subject once, however many rows it has
    draws = np.fromiter((_subject_uniform(s, seed) for s in unique), np.float64, count=len(unique))
    edges = np.cumsum(shares)[:-1]  # the last interval ends at 1 whatever the rounding of the sum
    which = np.searchsorted(edges, draws, side="right")[inverse.reshape(-1)]
    return {name: np.flatnonzero(which == k).astype(np.int64) for k, name in enumerate(fractions)}
