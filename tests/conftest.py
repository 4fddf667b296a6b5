"""Shared fixtures: small real data written in the real on-disk layouts, and a network blocker."""

from __future__ import annotations

import gzip
import socket
import struct
from pathlib import Path

import numpy as np
import pytest
from sklearn.datasets import load_digits

from medmonai.metrics import dice_from_counts

REPO = Path(__file__).resolve().parents[1]
MNIST_BUNDLE = REPO / "bundles" / "mnist_vae_latent" / "configs"


def idx_bytes(array: np.ndarray) -> bytes:
    """Encode a uint8 array in the IDX format used by MNIST."""
    header = struct.pack(">BBBB", 0, 0, 0x08, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + np.ascontiguousarray(array, dtype=np.uint8).tobytes()


def real_digit_arrays(n_train: int = 300, n_test: int = 100) -> dict[str, np.ndarray]:
    """Real scikit-learn digits as uint8 28x28 MNIST-like arrays (nearest upsampling x3 plus padding)."""
    bunch = load_digits()
    images = (bunch.images * 255.0 / 16.0).astype(np.uint8)
    images = np.pad(images.repeat(3, axis=1).repeat(3, axis=2), ((0, 0), (2, 2), (2, 2)))
    labels = bunch.target.astype(np.uint8)
    return {
        "x_train": images[:n_train],
        "y_train": labels[:n_train],
        "x_test": images[n_train : n_train + n_test],
        "y_test": labels[n_train : n_train + n_test],
    }


def write_mnist_idx(folder: Path, gz: bool = True, spelling: str = "-idx") -> dict[str, np.ndarray]:
    """Write the four MNIST IDX files (gzip or raw) of real digits into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    arrays = real_digit_arrays()
    names = {
        "x_train": "train-images-idx3-ubyte",
        "y_train": "train-labels-idx1-ubyte",
        "x_test": "t10k-images-idx3-ubyte",
        "y_test": "t10k-labels-idx1-ubyte",
    }
    for key, name in names.items():
        name = name.replace("-idx", spelling)
        data = idx_bytes(arrays[key])
        if gz:
            (folder / f"{name}.gz").write_bytes(gzip.compress(data))
        else:
            (folder / name).write_bytes(data)
    return arrays


def write_mnist_npz(path: Path, **overrides: np.ndarray) -> dict[str, np.ndarray]:
    """Write a Keras-style mnist.npz of real digits; keyword overrides replace or add arrays."""
    arrays = {**real_digit_arrays(), **overrides}
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, **arrays)
    return arrays


@pytest.fixture
def no_network(monkeypatch):
    """Fail any attempt to open a network connection (the code under test must stay offline)."""

    def refuse(*args, **kwargs):
        raise OSError("network access attempted in an offline test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


def dice(predicted, truth) -> float:
    """Dice of two binary arrays (1.0 when both are empty), from the library's pooled-count Dice."""
    p, t = np.asarray(predicted) > 0, np.asarray(truth) > 0
    return dice_from_counts(int((p & t).sum()), int((p & ~t).sum()), int((~p & t).sum()))


@pytest.fixture(scope="session")
def real_subjects() -> list[dict]:
    """The five real heads of ``scripts/fetch_subjects.py`` (``load_subjects()``: dicts with absolute paths).

    Skipped when they are not fetched; in CI (``CI=true``) that is a failure instead, since ``scripts/test.sh``
    fetches them before the tests run.
    """
    import importlib.util
    import os
    import sys

    from medmonai.errors import DataError

    module = sys.modules.get("real_subjects")
    if module is None:
        spec = importlib.util.spec_from_file_location("real_subjects", REPO / "scripts" / "real_subjects.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules["real_subjects"] = module  # dataclasses look their module up there
        spec.loader.exec_module(module)
    try:
        return module.load_subjects()
    except DataError as e:
        if os.environ.get("CI", "").lower() in ("true", "1"):
            pytest.fail(f"CI needs the real subjects: {e}")
        pytest.skip(f"real subjects not fetched: {e}")
