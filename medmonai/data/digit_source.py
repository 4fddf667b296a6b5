"""Train/val/test datalists of digit images, from MNIST files or the embedded default."""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np

from medmonai.data.digits import EMBEDDED_DIGITS_SOURCE, load_embedded_digits
from medmonai.data.io import unit_range
from medmonai.data.mnist import read_mnist
from medmonai.data.splits import parse_classes, select_classes, stratified_split
from medmonai.keys import Keys

__all__ = ["digit_datalists"]

logger = logging.getLogger(__name__)


def _datalist(images: np.ndarray, labels: np.ndarray) -> list[dict]:
    return [{Keys.IMAGE: img[None], Keys.LABEL: int(lab)} for img, lab in zip(images, labels, strict=True)]


def digit_datalists(
    dataset_dir: str | None = "",
    digits: str | int | Sequence[int] | None = (0, 1),
    val_fraction: float = 0.1,
    test_fraction: float = 0.2,
    seed: int = 0,
) -> dict[str, list[dict]]:
    """Build MONAI datalists for the train, val and test splits of a digit data set.

    With ``dataset_dir`` set, MNIST/FashionMNIST files are read (see :func:`read_mnist`): the official test
    split is the test set and ``val_fraction`` of the training split, stratified and seeded, is held out for
    validation. With ``dataset_dir`` empty, the embedded scikit-learn digits are used and split seeded and
    stratified into train/val/test by ``val_fraction`` and ``test_fraction``.

    Args:
        dataset_dir: folder or npz path; empty or None for the embedded default. Defaults to "".
        digits: classes to keep: a list, ``"all"``, or a string like ``"0,1"``. Defaults to ``(0, 1)``.
        val_fraction: share of the training data held out for validation. Defaults to 0.1.
        test_fraction: share held out for testing (embedded default only). Defaults to 0.2.
        seed: seed of the splits. Defaults to 0.

    Returns:
        ``{"train": [...], "val": [...], "test": [...]}``; each item is ``{"image": float32 (1, H, W) in
        [0, 1], "label": int}``.

    Raises:
        DataError: the source is missing or malformed, or a requested digit is absent.
        ConfigError: ``digits`` or a fraction is invalid.
    """
    classes = parse_classes(digits)
    if dataset_dir:
        arrays = read_mnist(dataset_dir)
        train_x, train_y = select_classes(arrays.train_images, arrays.train_labels, classes, arrays.source)
        test_x, test_y = select_classes(arrays.test_images, arrays.test_labels, classes, arrays.source)
        train_x, test_x, source = unit_range(train_x), unit_range(test_x), arrays.source
    else:
        images, labels = load_embedded_digits()
        images, labels = select_classes(images, labels, classes, EMBEDDED_DIGITS_SOURCE)
        rest, test = stratified_split(labels, test_fraction, seed)
        train_x, train_y, test_x, test_y = images[rest], labels[rest], images[test], labels[test]
        source = EMBEDDED_DIGITS_SOURCE
    train_idx, val_idx = stratified_split(train_y, val_fraction, seed)
    splits = {
        "train": _datalist(train_x[train_idx], train_y[train_idx]),
        "val": _datalist(train_x[val_idx], train_y[val_idx]),
        "test": _datalist(test_x, test_y),
    }
    logger.info(
        "digits %s from %s: %s",
        "all" if classes is None else classes,
        source,
        ", ".join(f"{k}={len(v)}" for k, v in splits.items()),
    )
    return splits
