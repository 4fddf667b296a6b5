"""Every reader, fed random bytes or random small headers, fails only with DataError naming the file."""

from __future__ import annotations

import struct
import tempfile
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from medmonai.data.io import load_grayscale, load_volume, read_header
from medmonai.data.readers.manifests import read_datalist
from medmonai.data.readers.medmnist import read_medmnist
from medmonai.data.readers.mnist import read_idx, read_mnist_npz
from medmonai.errors import DataError

READERS = {
    "mnist.npz": read_mnist_npz,
    "pneumoniamnist.npz": read_medmnist,
    "train-images-idx3-ubyte": read_idx,
    "train-images-idx3-ubyte.gz": read_idx,
    "scan.nii.gz": load_volume,
    "scan.nii": read_header,
    "scan.mha": load_volume,
    "scan.nrrd": read_header,
    "bscan.jpeg": load_grayscale,
    "bscan.png": load_grayscale,
    "list.csv": read_datalist,
    "list.json": read_datalist,
}
FUZZ = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def only_data_errors(reader, path: Path) -> None:
    """The reader returns, or raises DataError with the file's path in its message; nothing else may escape."""
    try:
        reader(path)
    except DataError as e:
        assert str(path) in str(e) or path.name in str(e), f"{e} does not name {path}"


@pytest.mark.parametrize("name", list(READERS))
@FUZZ
@given(data=st.binary(max_size=600))
def test_random_bytes(name, data):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / name
        path.write_bytes(data)
        only_data_errors(READERS[name], path)


@FUZZ
@given(
    shape=st.lists(st.integers(0, 6), min_size=1, max_size=5),
    zooms=st.lists(st.floats(-30, 300) | st.sampled_from([0.0, float("nan"), float("inf")]), min_size=3, max_size=3),
    dtype=st.sampled_from([np.uint8, np.int16, np.float32, np.float64]),
    truncate=st.integers(0, 400),
)
def test_random_small_nifti_headers(shape, zooms, dtype, truncate):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "scan.nii"
        nib.save(nib.Nifti1Image(np.zeros(shape, dtype), np.eye(4)), str(path))
        raw = bytearray(path.read_bytes())
        raw[80:92] = struct.pack("<3f", *zooms)  # pixdim[1:4], as any writer might have left them
        path.write_bytes(bytes(raw[: len(raw) - truncate]))
        for reader in (read_header, load_volume):
            only_data_errors(reader, path)


@FUZZ
@given(
    dims=st.lists(st.integers(-2, 5), min_size=1, max_size=4),
    spacing=st.lists(st.floats(-5, 50) | st.just(float("nan")), min_size=1, max_size=4),
    element=st.sampled_from(["MET_UCHAR", "MET_FLOAT", "MET_DOUBLE", "MET_BOGUS"]),
    body=st.binary(max_size=200),
)
def test_random_small_metaimage_headers(dims, spacing, element, body):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "scan.mha"
        header = (
            f"ObjectType = Image\nNDims = {len(dims)}\nDimSize = {' '.join(map(str, dims))}\n"
            f"ElementSpacing = {' '.join(map(str, spacing))}\nElementType = {element}\nElementDataFile = LOCAL\n"
        )
        path.write_bytes(header.encode() + body)
        for reader in (read_header, load_volume):
            only_data_errors(reader, path)
