import gzip
import shutil

import nibabel as nib
import numpy as np
import pydicom.data
import pytest
import SimpleITK as sitk
from PIL import Image

from medmonai.data.io import image_header_shape, unit_range
from medmonai.errors import DataError


def test_eight_bit_data_is_divided_by_255_and_unit_data_is_kept():
    assert np.allclose(unit_range(np.array([0, 51, 255], np.uint8)), [0.0, 0.2, 1.0])
    assert np.allclose(unit_range(np.array([0, 1], np.uint8)), [0.0, 1 / 255])  # uint8 is 8-bit, whatever its max
    assert np.array_equal(unit_range(np.array([0.0, 0.5, 1.0])), [0.0, 0.5, 1.0])
    assert np.allclose(unit_range(np.array([0.0, 127.5])), [0.0, 0.5])
    assert unit_range(np.array([3], np.int64)).dtype == np.float32


def write_header_images(folder):
    """One header-readable file per supported format, and broken ones."""
    folder.mkdir()
    Image.fromarray(np.zeros((20, 30), np.uint8)).save(folder / "x.png")
    Image.fromarray(np.zeros((20, 30, 3), np.uint8)).save(folder / "x.jpg")
    nib.save(nib.Nifti1Image(np.zeros((6, 7, 8), np.float32), np.eye(4)), folder / "v.nii.gz")
    sitk.WriteImage(sitk.Image([5, 6, 7], sitk.sitkFloat32), str(folder / "v.mha"))
    shutil.copy(pydicom.data.get_testdata_file("CT_small.dcm"), folder / "ct.dcm")
    shutil.copy(pydicom.data.get_testdata_file("rtplan.dcm"), folder / "plan.dcm")
    (folder / "broken.png").write_bytes(b"not an image at all")
    (folder / "broken.nii.gz").write_bytes(gzip.compress(b"\x00" * 40))


def test_image_header_shapes_without_pixels(tmp_path):
    write_header_images(tmp_path / "i")
    assert image_header_shape(tmp_path / "i/x.png") == (20, 30)
    assert image_header_shape(tmp_path / "i/x.jpg") == (20, 30)
    assert image_header_shape(tmp_path / "i/v.nii.gz") == (6, 7, 8)
    assert image_header_shape(tmp_path / "i/v.mha") == (5, 6, 7)
    assert image_header_shape(tmp_path / "i/ct.dcm") == (128, 128)
    with pytest.raises(DataError, match=r"plan\.dcm: DICOM without an image"):
        image_header_shape(tmp_path / "i/plan.dcm")
