"""Digit images: train/val/test datalists from MNIST files, or from the embedded default.

The default is scikit-learn's real handwritten digits, laid out like MNIST.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np
from sklearn.datasets import load_digits

from medmonai.data.canvas import fit_to_canvas
from medmonai.data.io import unit_range
from medmonai.data.readers.arrays import SplitArrays, array_datalist
from medmonai.data.readers.mnist import read_mnist
from medmonai.data.splits import parse_classes, select_classes, stratified_split

__all__ = ["EMBEDDED_DIGITS_SOURCE", "digit_datalists", "load_embedded_digits"]

logger = logging.getLogger(__name__)

EMBEDDED_DIGITS_SOURCE = "sklearn.datasets.load_digits (8x8, upsampled to 28x28)"


def load_embedded_digits() -> SplitArrays:
    """Load the 1,797 real 8x8 digits that ship with scikit-learn, as 28x28 MNIST-style images.

    Method: intensities 0..16 are divided by 16; each image is resized bilinearly to 20x20 and centred on a
    28x28 zero canvas, which is how MNIST itself normalises digits (20x20 box centred in 28x28).

    Returns:
        One unsplit set, ``all``: float32 ``(1797, 28, 28)`` images in [0, 1] and int64 ``(1797,)`` labels in 0..9.
    """
    bunch = load_digits()
    images = (bunch.images / 16.0).astype(np.float32)
    # every channel is resized alike, so the stack of N digits goes through in one call
    canvas = np.asarray(fit_to_canvas(images, box_size=(20, 20), canvas_size=(28, 28)), dtype=np.float32)
    return SplitArrays({"all": canvas}, {"all": bunch.target.astype(np.int64)}, EMBEDDED_DIGITS_SOURCE)


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
        train_x, train_y = select_classes(*arrays.split("train"), classes, arrays.source)
        test_x, test_y = select_classes(*arrays.split("test"), classes, arrays.source)
        train_x, test_x, source = unit_range(train_x), unit_range(test_x), arrays.source
    else:
        images, labels = select_classes(*load_embedded_digits().split("all"), classes, EMBEDDED_DIGITS_SOURCE)
        rest, test = stratified_split(labels, test_fraction, seed)
        train_x, train_y, test_x, test_y = images[rest], labels[rest], images[test], labels[test]
        source = EMBEDDED_DIGITS_SOURCE
    train_idx, val_idx = stratified_split(train_y, val_fraction, seed)
    splits = {
        "train": array_datalist(train_x[train_idx], train_y[train_idx]),
        "val": array_datalist(train_x[val_idx], train_y[val_idx]),
        "test": array_datalist(test_x, test_y),
    }
    logger.info(
        "digits %s from %s: %s",
        "all" if classes is None else classes,
        source,
        ", ".join(f"{k}={len(v)}" for k, v in splits.items()),
    )
    return splits
