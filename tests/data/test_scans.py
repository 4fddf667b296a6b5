"""New scans to map come from a plain folder (volumes and DICOM series) or a list, without labels."""

import locale

import numpy as np
import pytest
import SimpleITK as sitk
from PIL import Image

from medmonai.data import load_volume
from medmonai.data.io import read_header
from medmonai.data.readers.scans import image_folder, scan_datalist, scan_folder
from medmonai.errors import DataError


def write_volume(path, value=1.0, size=(12, 10, 8)):
    image = sitk.GetImageFromArray(np.full(size[::-1], value, np.float32))
    image.SetSpacing((1.5, 1.5, 2.0))
    sitk.WriteImage(image, str(path))


def write_dicom_series(folder, size=(12, 10, 8)):
    folder.mkdir(parents=True)
    volume = sitk.GetImageFromArray(np.arange(np.prod(size), dtype=np.int16).reshape(size[::-1]))
    volume.SetSpacing((1.0, 1.0, 2.5))
    writer = sitk.ImageFileWriter()
    writer.KeepOriginalImageUIDOn()  # keep the one series UID set below
    saved = locale.setlocale(locale.LC_ALL)  # GDCM's writer sets the C locale, which makes later text I/O ASCII
    for z in range(size[2]):
        slice_ = volume[:, :, z]
        slice_.SetMetaData("0020|0032", f"0\\0\\{2.5 * z}")  # image position: GDCM sorts by it
        slice_.SetMetaData("0020|0037", "1\\0\\0\\0\\1\\0")
        slice_.SetMetaData("0020|000e", "1.2.826.0.1.3680043.2.1125.1")  # one series
        slice_.SetMetaData("0008|0060", "MR")
        slice_.SetMetaData("0008|0018", f"1.2.826.0.1.3680043.2.1125.2.{z}")  # one instance UID per slice
        writer.SetFileName(str(folder / f"slice_{z:03d}.dcm"))
        writer.Execute(slice_)
    locale.setlocale(locale.LC_ALL, saved)


def test_a_folder_of_volumes_and_a_dicom_series(tmp_path):
    write_volume(tmp_path / "b.nii.gz")
    write_volume(tmp_path / "a.mha")
    write_volume(tmp_path / "c.nrrd")
    write_dicom_series(tmp_path / "d_series")
    (tmp_path / "notes.txt").write_text("not a scan")
    items = scan_folder(tmp_path)
    assert [i["case_id"] for i in items] == ["a", "b", "c", "d_series"]
    assert all("label" not in i for i in items)
    series = load_volume(items[3]["image"])
    assert series.shape == (1, 12, 10, 8) and tuple(float(s) for s in series.meta["spacing"]) == (1.0, 1.0, 2.5)
    assert float(series[0, 1, 0, 0]) == 1.0 and float(series[0, 0, 0, 1]) == 120.0  # x fastest, then slices
    assert read_header(items[3]["image"]).size == (12, 10, 8)


def test_a_folder_that_is_one_series(tmp_path):
    write_dicom_series(tmp_path / "head")
    assert scan_folder(tmp_path / "head") == [{"image": str(tmp_path / "head"), "case_id": "head"}]


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda root: None, r"no scans \(expected .nii.gz"),
        (lambda root: (write_volume(root / "x.nii.gz"), write_volume(root / "x.mha")), r"two scans are named 'x'"),
    ],
)
def test_bad_folders(tmp_path, make, message):
    make(tmp_path)
    with pytest.raises(DataError, match=message):
        scan_folder(tmp_path)


def test_a_list_needs_only_images(tmp_path):
    write_volume(tmp_path / "s1.nii.gz")
    (tmp_path / "scans.csv").write_text("image\ns1.nii.gz\n")
    assert scan_datalist(input_datalist=str(tmp_path / "scans.csv")) == [{"image": str(tmp_path / "s1.nii.gz")}]
    with pytest.raises(DataError, match="not both or neither"):
        scan_datalist()
    with pytest.raises(DataError, match="input_dir is not a folder"):
        scan_datalist(input_dir=str(tmp_path / "nowhere"))


def _write_image(path, array):
    Image.fromarray(np.asarray(array, np.uint8)).save(path)


@pytest.mark.parametrize(
    "name, array, message",
    [
        ("flat.png", np.full((40, 40), 7), r"flat\.png: image is constant \(every pixel 7\); nothing to score"),
        ("dot.png", np.full((1, 1), 9), r"dot\.png: image is 1x1 pixels, too small"),
    ],
)
def test_a_folder_of_new_images_refuses_degenerate_ones(tmp_path, name, array, message):
    _write_image(tmp_path / "good.png", np.random.default_rng(0).integers(0, 255, (40, 40)))
    assert [item["case_id"] for item in image_folder(tmp_path)] == ["good"]
    _write_image(tmp_path / name, array)
    with pytest.raises(DataError, match=message):
        image_folder(tmp_path)


def test_damage_inside_an_image_is_found_up_front(tmp_path):
    _write_image(tmp_path / "a.png", np.random.default_rng(0).integers(0, 255, (64, 64)))
    data = (tmp_path / "a.png").read_bytes()
    (tmp_path / "a.png").write_bytes(data[: len(data) // 2] + data[-12:])  # header and end kept, pixels cut
    with pytest.raises(DataError, match=r"a\.png: unreadable image"):
        image_folder(tmp_path)
