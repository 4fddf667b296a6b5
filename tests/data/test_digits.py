import numpy as np
import pytest

from medmonai.data import digit_datalists, load_embedded_digits
from medmonai.errors import DataError
from medmonai.keys import Keys
from tests.conftest import write_mnist_idx


def test_embedded_digits_are_mnist_like():
    images, labels = load_embedded_digits().split("all")
    assert images.shape == (1797, 28, 28) and images.dtype == np.float32
    assert images.min() == 0.0 and 0.9 < images.max() <= 1.0
    assert sorted(np.unique(labels).tolist()) == list(range(10))
    # MNIST layout: content inside the central 20x20 box, a 4-pixel zero border
    assert images[:, :4].max() == 0 and images[:, 24:].max() == 0 and images[:, :, :4].max() == 0


def test_embedded_default_splits():
    splits = digit_datalists("", digits=[0, 1], seed=0)
    sizes = {k: len(v) for k, v in splits.items()}
    assert sizes == {"train": 259, "val": 29, "test": 72}  # 360 zeros and ones: 20% test, then 10% val
    item = splits["train"][0]
    assert item[Keys.IMAGE].shape == (1, 28, 28) and item[Keys.IMAGE].dtype == np.float32
    labels = {split: {d[Keys.LABEL] for d in items} for split, items in splits.items()}
    assert all(found == {0, 1} for found in labels.values())


def test_embedded_default_is_deterministic_and_disjoint():
    first, second = digit_datalists("", "all", seed=1), digit_datalists("", "all", seed=1)
    for split in ("train", "val", "test"):
        np.testing.assert_array_equal(first[split][5][Keys.IMAGE], second[split][5][Keys.IMAGE])
    train = {d[Keys.IMAGE].tobytes() for d in first["train"]}
    assert not train & {d[Keys.IMAGE].tobytes() for d in first["test"]}
    assert sum(len(v) for v in first.values()) == 1797


def test_mnist_folder_uses_official_test_split(tmp_path):
    written = write_mnist_idx(tmp_path)
    splits = digit_datalists(str(tmp_path), digits=[0, 1], val_fraction=0.2, seed=0)
    n_test = int(np.isin(written["y_test"], [0, 1]).sum())
    assert len(splits["test"]) == n_test
    image = splits["test"][0][Keys.IMAGE]
    assert image.dtype == np.float32 and 0.0 <= image.min() and image.max() <= 1.0 and image.max() > 0.5


def test_requested_digit_absent_from_mnist_folder(tmp_path):
    write_mnist_idx(tmp_path)
    with pytest.raises(DataError, match=r"requested digits \[11\] are not in the data"):
        digit_datalists(str(tmp_path), digits=[1, 11])
