import numpy as np
import pytest

from medmonai.data.readers.medmnist import MEDMNIST_KEYS, medmnist_normal_classes, read_medmnist
from medmonai.errors import ConfigError, DataError
from tests.conftest import real_digit_arrays


def write_npz(path, size=28, channels=None, **replace):
    """A MedMNIST-layout npz of real digits: (N, H, W[, C]) uint8 images and (N, 1) labels."""
    digits = real_digit_arrays(60, 20)
    images = np.resize(digits["x_train"], (80, size, size)).astype(np.uint8)
    if channels:
        images = np.repeat(images[..., None], channels, axis=-1)
    labels = (np.arange(80) % 2)[:, None].astype(np.uint8)
    arrays = {
        "train_images": images[:50],
        "train_labels": labels[:50],
        "val_images": images[50:60],
        "val_labels": labels[50:60],
        "test_images": images[60:],
        "test_labels": labels[60:],
    }
    arrays.update(replace)
    np.savez(path, **{k: v for k, v in arrays.items() if v is not None})
    return path


@pytest.mark.parametrize(
    "case",
    [
        dict(size=28, channels=None),  # grayscale, as PneumoniaMNIST / OCTMNIST ship
        dict(size=64, channels=None),  # a larger size variant
        dict(size=28, channels=3),  # an RGB data set, converted to grayscale
        dict(size=28, channels=1),  # an explicit single channel
    ],
)
def test_reads_every_split(tmp_path, case):
    arrays = read_medmnist(write_npz(tmp_path / "x.npz", **case))
    assert {k: v.shape for k, v in arrays.images.items()} == {
        "train": (50, case["size"], case["size"]),
        "val": (10, case["size"], case["size"]),
        "test": (20, case["size"], case["size"]),
    }
    assert arrays.labels["train"].dtype == np.int64 and arrays.labels["train"].shape == (50,)
    assert arrays.images["train"].dtype == np.uint8


def test_missing_keys_are_named(tmp_path):
    path = write_npz(tmp_path / "x.npz", val_labels=None)
    with pytest.raises(DataError, match=r"x\.npz: missing keys \['val_labels'\]; found"):
        read_medmnist(path)
    assert set(MEDMNIST_KEYS) > {"val_labels"}


@pytest.mark.parametrize(
    "replace, match",
    [
        (dict(test_images=np.zeros((20, 28), np.uint8)), r"test_images must hold 2-D images .* got shape \(20, 28\)"),
        (dict(train_labels=np.zeros((50, 3), np.uint8)), r"train_labels must hold one class per image.*multi-label"),
        (dict(val_labels=np.zeros((9, 1), np.uint8)), r"val_labels has 9 labels for 10 images"),
    ],
)
def test_bad_arrays(tmp_path, replace, match):
    with pytest.raises(DataError, match=match):
        read_medmnist(write_npz(tmp_path / "x.npz", **replace))


def test_missing_and_unreadable_files(tmp_path):
    with pytest.raises(DataError, match=r"nope\.npz: MedMNIST file not found"):
        read_medmnist(tmp_path / "nope.npz")
    (tmp_path / "bad.npz").write_bytes(b"not a zip")
    with pytest.raises(DataError, match=r"bad\.npz: not a readable \.npz file"):
        read_medmnist(tmp_path / "bad.npz")


@pytest.mark.parametrize(
    "name, given, expected",
    [
        ("pneumoniamnist.npz", "auto", [0]),
        ("octmnist_64.npz", "auto", [3]),
        ("breastmnist.npz", "0,1", [0, 1]),
        ("pneumoniamnist.npz", "all", None),
    ],
)
def test_the_normal_classes_come_from_the_file_name_unless_given(name, given, expected):
    assert medmnist_normal_classes(f"/data/{name}", given) == expected


def test_a_file_without_default_normal_classes_needs_them_given():
    with pytest.raises(ConfigError, match=r"bloodmnist\.npz: set normal_classes; only PneumoniaMNIST and OCTMNIST"):
        medmnist_normal_classes("/data/bloodmnist.npz")
