"""Reader for MNIST-format digit data: IDX files (raw or gzip) or a Keras-style ``mnist.npz``.

FashionMNIST uses the same file names and formats, so it reads through here too.
"""

from __future__ import annotations

import gzip
import zlib
from pathlib import Path

import numpy as np

from medmonai.data.readers.arrays import SplitArrays
from medmonai.errors import DataError

__all__ = ["read_mnist", "read_idx", "read_mnist_npz", "IDX_FILES", "NPZ_KEYS"]

# split -> (images stem, labels stem); both the "-idx3" and ".idx3" spellings seen in the wild are accepted.
IDX_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
NPZ_KEYS = ("x_train", "y_train", "x_test", "y_test")
MNIST_SHAPE = (28, 28)
_IDX_DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
_EXPECTED = (
    "expected train-images-idx3-ubyte[.gz], train-labels-idx1-ubyte[.gz], t10k-images-idx3-ubyte[.gz] and "
    "t10k-labels-idx1-ubyte[.gz], or mnist.npz with x_train, y_train, x_test, y_test"
)


def _read_bytes(path: Path) -> bytes:
    try:
        if path.suffix == ".gz":
            with gzip.open(path, "rb") as f:
                return f.read()
        return path.read_bytes()
    except (EOFError, OSError, zlib.error) as e:
        raise DataError(f"{path}: truncated or corrupt file ({e})") from e


def read_idx(path: str | Path) -> np.ndarray:
    """Read one IDX file (the MNIST container format), gzip-compressed or raw.

    Args:
        path: file path; a ``.gz`` suffix means gzip.

    Returns:
        The array with the shape and dtype stored in the header.

    Raises:
        DataError: the file is truncated, corrupt, or not IDX.
    """
    path = Path(path)
    raw = _read_bytes(path)
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_DTYPES:
        raise DataError(f"{path}: not an IDX file (bad magic number {raw[:4].hex() or 'empty'})")
    ndim = raw[3]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise DataError(f"{path}: truncated IDX header")
    shape = tuple(int(d) for d in np.frombuffer(raw, dtype=">u4", count=ndim, offset=4))
    dtype = np.dtype(_IDX_DTYPES[raw[2]])
    expected = int(np.prod(shape)) * dtype.itemsize
    if len(raw) - header != expected:
        raise DataError(
            f"{path}: truncated IDX data (header says {shape}, needs {expected} bytes, has {len(raw) - header})"
        )
    return np.frombuffer(raw, dtype=dtype, offset=header).reshape(shape).astype(dtype.newbyteorder("="))


def _find(folder: Path, stem: str) -> Path | None:
    for name in (stem, stem.replace("-idx", ".idx")):
        for candidate in (folder / name, folder / f"{name}.gz"):
            if candidate.is_file():
                return candidate
    return None


def _check_pair(images: np.ndarray, labels: np.ndarray, where: str) -> None:
    if images.ndim != 3:
        raise DataError(f"{where}: images must have shape (N, H, W), got {images.shape}")
    if labels.ndim != 1 or labels.shape[0] != images.shape[0]:
        raise DataError(f"{where}: labels must have shape ({images.shape[0]},), got {labels.shape}")
    if not np.issubdtype(labels.dtype, np.integer):
        raise DataError(f"{where}: labels must be integers, got {labels.dtype}")
    if images.shape[1:] != MNIST_SHAPE:
        raise DataError(f"{where}: MNIST-format images are 28x28, got {images.shape[1]}x{images.shape[2]}")


def read_mnist_npz(path: str | Path) -> SplitArrays:
    """Read a Keras-style ``mnist.npz`` holding ``x_train``, ``y_train``, ``x_test`` and ``y_test``.

    Raises:
        DataError: the file is unreadable or lacks a key, or the arrays do not fit together.
    """
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as npz:
            missing = [k for k in NPZ_KEYS if k not in npz.files]
            if missing:
                raise DataError(f"{path}: missing keys {missing}; found {sorted(npz.files)}; expected {list(NPZ_KEYS)}")
            arrays = {k: np.asarray(npz[k]) for k in NPZ_KEYS}
    except (OSError, ValueError, EOFError, zlib.error) as e:
        if isinstance(e, DataError):
            raise
        raise DataError(f"{path}: unreadable npz ({e})") from e
    _check_pair(arrays["x_train"], arrays["y_train"], f"{path} (x_train, y_train)")
    _check_pair(arrays["x_test"], arrays["y_test"], f"{path} (x_test, y_test)")
    return SplitArrays(
        {"train": arrays["x_train"], "test": arrays["x_test"]},
        {"train": arrays["y_train"].astype(np.int64), "test": arrays["y_test"].astype(np.int64)},
        str(path),
    )


def _read_idx_folder(folder: Path) -> SplitArrays | None:
    found = {split: tuple(_find(folder, stem) for stem in stems) for split, stems in IDX_FILES.items()}
    present = [p for pair in found.values() for p in pair if p is not None]
    if not present:
        return None
    missing = [
        stem for split, stems in IDX_FILES.items() for stem, p in zip(stems, found[split], strict=True) if p is None
    ]
    if missing:
        raise DataError(f"{folder}: incomplete MNIST IDX set, missing {missing}")
    arrays = {split: (read_idx(pair[0]), read_idx(pair[1])) for split, pair in found.items()}
    for split, (images, labels) in arrays.items():
        _check_pair(images, labels, f"{found[split][0]} / {found[split][1].name}")
    return SplitArrays(
        {split: images for split, (images, _) in arrays.items()},
        {split: labels.astype(np.int64) for split, (_, labels) in arrays.items()},
        str(folder),
    )


def read_mnist(dataset_dir: str | Path) -> SplitArrays:
    """Read MNIST or FashionMNIST from a folder (or an ``.npz`` file path).

    The folder may hold ``mnist.npz`` (any ``*.npz`` with the Keras keys) or the four IDX files, raw or gzip;
    a ``raw/`` subfolder (torchvision's layout) is searched too.

    Args:
        dataset_dir: the folder, or the path of an npz file.

    Returns:
        The arrays as the source splits them, into ``train`` and ``test``.

    Raises:
        DataError: the path does not exist, holds no MNIST data, or the data is malformed.
    """
    path = Path(dataset_dir).expanduser()
    if not path.exists():
        raise DataError(f"dataset_dir {path} does not exist")
    if path.is_file():
        if path.suffix != ".npz":
            raise DataError(f"{path}: not a folder or .npz file; {_EXPECTED}")
        return read_mnist_npz(path)
    for folder in (path, path / "raw"):
        if not folder.is_dir():
            continue
        npz = (
            folder / "mnist.npz" if (folder / "mnist.npz").is_file() else next(iter(sorted(folder.glob("*.npz"))), None)
        )
        if npz is not None:
            return read_mnist_npz(npz)
        arrays = _read_idx_folder(folder)
        if arrays is not None:
            return arrays
    raise DataError(f"{path}: no MNIST data found; {_EXPECTED}")
