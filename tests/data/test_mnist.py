import gzip

import numpy as np
import pytest

from medmonai.data.readers.mnist import read_idx, read_mnist, read_mnist_npz
from medmonai.errors import DataError
from tests.conftest import idx_bytes, write_mnist_idx, write_mnist_npz


@pytest.mark.parametrize(
    "case",
    [
        {"gz": True, "spelling": "-idx"},  # the official gzip files
        {"gz": False, "spelling": "-idx"},  # unpacked files
        {"gz": False, "spelling": ".idx"},  # the "train-images.idx3-ubyte" spelling
    ],
)
def test_read_idx_folder_round_trips(tmp_path, case):
    written = write_mnist_idx(tmp_path, **case)
    arrays = read_mnist(tmp_path)
    np.testing.assert_array_equal(arrays.images["train"], written["x_train"])
    np.testing.assert_array_equal(arrays.labels["train"], written["y_train"])
    np.testing.assert_array_equal(arrays.images["test"], written["x_test"])
    np.testing.assert_array_equal(arrays.labels["test"], written["y_test"])
    assert arrays.images["train"].dtype == np.uint8 and arrays.labels["train"].dtype == np.int64


def test_read_idx_in_torchvision_raw_subfolder(tmp_path):
    written = write_mnist_idx(tmp_path / "raw")
    np.testing.assert_array_equal(read_mnist(tmp_path).labels["test"], written["y_test"])


def test_read_npz_folder_and_file(tmp_path):
    written = write_mnist_npz(tmp_path / "mnist.npz")
    for source in (tmp_path, tmp_path / "mnist.npz"):
        arrays = read_mnist(source)
        np.testing.assert_array_equal(arrays.images["train"], written["x_train"])
        np.testing.assert_array_equal(arrays.labels["test"], written["y_test"])


def test_npz_with_wrong_keys(tmp_path):
    path = tmp_path / "mnist.npz"
    np.savez(path, images=np.zeros((2, 28, 28), np.uint8), labels=np.zeros(2, np.uint8))
    with pytest.raises(DataError, match=r"mnist\.npz: missing keys \['x_train', 'y_train', 'x_test', 'y_test'\]"):
        read_mnist(tmp_path)


def test_npz_labels_not_matching_images(tmp_path):
    write_mnist_npz(tmp_path / "mnist.npz", y_train=np.zeros(3, np.uint8))
    with pytest.raises(DataError, match=r"labels must have shape \(300,\), got \(3,\)"):
        read_mnist_npz(tmp_path / "mnist.npz")


def test_npz_images_not_2d(tmp_path):
    write_mnist_npz(tmp_path / "mnist.npz", x_test=np.zeros((100, 28 * 28), np.uint8))
    with pytest.raises(DataError, match=r"images must have shape \(N, H, W\), got \(100, 784\)"):
        read_mnist(tmp_path)


def test_truncated_gz(tmp_path):
    write_mnist_idx(tmp_path)
    path = tmp_path / "train-images-idx3-ubyte.gz"
    path.write_bytes(path.read_bytes()[:200])
    with pytest.raises(DataError, match=r"train-images-idx3-ubyte\.gz: truncated or corrupt file"):
        read_mnist(tmp_path)


def test_truncated_raw_idx(tmp_path):
    path = tmp_path / "t10k-images-idx3-ubyte"
    path.write_bytes(idx_bytes(np.zeros((5, 28, 28), np.uint8))[:-10])
    with pytest.raises(DataError, match=r"truncated IDX data \(header says \(5, 28, 28\)"):
        read_idx(path)


def test_not_idx(tmp_path):
    path = tmp_path / "t10k-labels-idx1-ubyte.gz"
    path.write_bytes(gzip.compress(b"hello world"))
    with pytest.raises(DataError, match="not an IDX file"):
        read_idx(path)


def test_incomplete_idx_set(tmp_path):
    write_mnist_idx(tmp_path)
    (tmp_path / "t10k-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(DataError, match=r"incomplete MNIST IDX set, missing \['t10k-labels-idx1-ubyte'\]"):
        read_mnist(tmp_path)


def test_missing_dataset_dir(tmp_path):
    with pytest.raises(DataError, match=r"dataset_dir .*nope does not exist"):
        read_mnist(tmp_path / "nope")


def test_folder_without_mnist(tmp_path):
    (tmp_path / "readme.txt").write_text("not digits")
    with pytest.raises(DataError, match=r"no MNIST data found; expected train-images-idx3-ubyte"):
        read_mnist(tmp_path)
