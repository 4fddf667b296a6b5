"""2-D image sets for GAN training: picture/DICOM folders, CSV manifests of channels and NIfTI slices."""

import shutil

import nibabel as nib
import numpy as np
import pytest
import torch
from PIL import Image

from medmonai.data import image_set
from medmonai.errors import ConfigError, DataError
from medmonai.transforms import LoadImageChannels, LoadImageChannelsd

pydicom = pytest.importorskip("pydicom")


def write_png(path, array):
    path.parent.mkdir(parents=True, exist_ok=True)
    array = np.asarray(array)
    Image.fromarray(array.astype(np.uint16 if array.max() > 255 else np.uint8)).save(path)
    return path


def noise(shape, seed=0, high=256):
    return np.random.default_rng(seed).integers(0, high, shape)


def ct_small():
    from pydicom.data import get_testdata_file

    return get_testdata_file("CT_small.dcm")  # shipped with pydicom: nothing is downloaded


def test_a_folder_of_pictures_and_a_dicom_image(tmp_path):
    write_png(tmp_path / "b_step.png", np.where(np.arange(40)[None, :] < 20, 0, 255) * np.ones((40, 1), int))
    sixteen = np.where(np.arange(40)[None, :] < 20, 1000, 3000) * np.ones((40, 1), int)  # all >255: 16-bit only
    write_png(tmp_path / "c_sixteen.png", sixteen)
    shutil.copy(ct_small(), tmp_path / "a_ct.dcm")
    (tmp_path / "notes.txt").write_text("not an image")
    items = image_set(tmp_path, (32, 32))
    assert [i["subject_id"] for i in items] == ["a_ct", "b_step", "c_sixteen"]
    assert all(i["slice"] == -1 and len(i["image"]) == 1 for i in items)
    load = LoadImageChannelsd(image_shape=(32, 32))
    images = [load(i)["image"] for i in items]
    for image in images:
        assert image.shape == (1, 32, 32) and image.dtype == torch.float32
        assert -1.0 <= float(image.min()) and float(image.max()) <= 1.0
    dicom = pydicom.dcmread(ct_small()).pixel_array
    assert dicom.min() > 0 and float(images[0].min()) < -0.9 and float(images[0].max()) > 0.5  # min-max scaled
    assert float(images[1][0, :, 0].mean()) == pytest.approx(-1.0, abs=0.05)  # 8-bit: 0 -> -1 ...
    assert float(images[1][0, :, -1].mean()) == pytest.approx(1.0, abs=0.05)  # ... 255 -> 1
    expected = (np.array([1000, 3000]) / 65535) * 2 - 1  # 16-bit: the dtype's range, not min-max
    assert float(images[2][0, 16, 0]) == pytest.approx(expected[0], abs=1e-4)
    assert float(images[2][0, 16, -1]) == pytest.approx(expected[1], abs=1e-4)


def test_resizing_keeps_the_aspect_ratio_and_crops_the_centre(tmp_path):
    picture = np.zeros((40, 80))
    picture[10:30, 30:50] = 255  # a centred 20x20 square on a 2:1 canvas
    write_png(tmp_path / "wide.png", picture)
    image = LoadImageChannels((16, 16))(str(tmp_path / "wide.png"))
    rows, cols = np.nonzero(image[0].numpy() > 0)
    assert image.shape == (1, 16, 16)
    assert (rows.max() - rows.min(), cols.max() - cols.min()) == (7, 7)  # still square: 8x8 after scaling by 0.4
    assert LoadImageChannels((12, 20))(str(tmp_path / "wide.png")).shape == (1, 12, 20)  # non-square target


def test_a_manifest_of_two_channels(tmp_path):
    for n in range(3):
        write_png(tmp_path / "img" / f"t1_{n}.png", noise((48, 40), n, 100))  # dark
        write_png(tmp_path / "img" / f"t2_{n}.png", 155 + noise((48, 40), n + 10, 100))  # bright
    rows = [f"s{n // 2},img/t1_{n}.png,img/t2_{n}.png" for n in range(3)]
    (tmp_path / "set.csv").write_text("subject_id,t1,t2\n" + "\n".join(rows) + "\n")
    items = image_set(tmp_path / "set.csv", (48, 40), channels=("t1", "t2"), resize=False)
    assert [i["subject_id"] for i in items] == ["s0", "s0", "s1"]
    assert items[2]["image"] == [str(tmp_path / "img" / "t1_2.png"), str(tmp_path / "img" / "t2_2.png")]
    image = LoadImageChannelsd(image_shape=(48, 40), resize=False)(items[0])["image"]
    assert image.shape == (2, 48, 40) and image.dtype == torch.float32
    assert -1.0 <= float(image.min()) and float(image.max()) <= 1.0
    assert float(image[0].mean()) < -0.4 < 0.4 < float(image[1].mean())  # channels in column order


def write_nifti(path, data, affine=None):
    nib.save(
        nib.Nifti1Image(data.astype(np.float32), np.diag([2.0, 2.0, 2.0, 1.0]) if affine is None else affine), path
    )


def test_a_folder_of_volumes_gives_central_slices_in_ras(tmp_path):
    data = np.random.default_rng(0).random((20, 24, 16)).astype(np.float32)
    write_nifti(tmp_path / "flipped.nii.gz", data, np.diag([-2.0, 2.0, 2.0, 1.0]))  # x runs right to left
    items = image_set(tmp_path, (24, 20), n_slices=3, resize=False)
    assert [(i["subject_id"], i["slice"]) for i in items] == [("flipped", 6), ("flipped", 7), ("flipped", 8)]
    image = LoadImageChannelsd(image_shape=(24, 20), resize=False)(items[1])["image"]
    plane = np.flipud(data[::-1, :, 7].T)  # RAS x, then shown with anterior (high y) at the top
    expected = (plane - plane.min()) / (plane.max() - plane.min()) * 2 - 1
    assert image.shape == (1, 24, 20)
    np.testing.assert_allclose(image[0].numpy(), expected, atol=1e-5)
    coronal = image_set(tmp_path, (16, 20), slice_axis=1, n_slices=1, resize=False)
    assert coronal[0]["slice"] == 11  # (24 - 1) // 2
    assert LoadImageChannels((16, 20), resize=False, slice_axis=1)([coronal[0]["image"][0]], 11).shape == (1, 16, 20)


def test_mixed_sizes_are_refused_when_not_resized(tmp_path):
    write_png(tmp_path / "a.png", noise((64, 64)))
    write_png(tmp_path / "b.png", noise((60, 64)))
    assert len(image_set(tmp_path, (64, 64))) == 2  # resized: fine
    with pytest.raises(DataError) as error:
        image_set(tmp_path, (64, 64), resize=False)
    message = str(error.value)
    assert message == f"{tmp_path / 'b.png'}: image is 60x64, expected 64x64 (set --resize true to resize)"
    with pytest.raises(DataError, match=r"b\.png: image is 60x64, expected 64x64"):
        LoadImageChannels((64, 64), resize=False)(str(tmp_path / "b.png"))


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda root: None, r"no images \(expected .jpeg"),
        (lambda root: write_png(root / "flat.png", np.full((32, 32), 7)), r"flat\.png: image is constant"),
        (lambda root: write_png(root / "dot.png", noise((5, 9))), r"dot\.png: image is 5x9 pixels, too small"),
        (lambda root: write_nifti(root / "v.nii", np.zeros((9, 9, 9))), r"v\.nii: slice 4 is constant"),
    ],
)
def test_bad_folders_are_refused_naming_the_file(tmp_path, make, message):
    make(tmp_path)
    with pytest.raises(DataError, match=message) as error:
        image_set(tmp_path, (32, 32))
    assert "\n" not in str(error.value) and str(tmp_path) in str(error.value)


def test_damage_inside_a_picture_or_volume_is_found_up_front(tmp_path):
    write_png(tmp_path / "good.png", noise((64, 64)))
    data = write_png(tmp_path / "cut.png", noise((64, 64), 1)).read_bytes()
    (tmp_path / "cut.png").write_bytes(data[: len(data) // 2] + data[-12:])  # header and end kept, pixels cut
    with pytest.raises(DataError, match=r"cut\.png: unreadable image"):
        image_set(tmp_path, (32, 32))
    (tmp_path / "cut.png").unlink()
    write_nifti(tmp_path / "vol.nii.gz", np.random.default_rng(0).random((16, 16, 16)))
    packed = (tmp_path / "vol.nii.gz").read_bytes()
    (tmp_path / "vol.nii.gz").write_bytes(packed[: len(packed) // 2])
    with pytest.raises(DataError, match=r"vol\.nii\.gz: unreadable volume"):
        image_set(tmp_path, (32, 32))


def test_bad_manifests_are_refused(tmp_path):
    write_png(tmp_path / "a.png", noise((32, 32)))
    write_png(tmp_path / "b.png", noise((30, 32), 1))
    (tmp_path / "notes.txt").write_text("x")
    cases = {
        "subject_id,t1\ns,a.png\n": r"no column 't2'; its columns are \['subject_id', 't1'\]",
        "t1,t2\n": r"lists no images",
        "t1,t2\na.png,b.png\n": r"b\.png: size 30x32 differs from a\.png \(32x32\)",
        "t1,t2\na.png,notes.txt\n": r"notes\.txt: unsupported image type \(listed in .*m\.csv, line 2",
        "t1,t2\na.png,c.png\n": r"c\.png: listed in .*m\.csv \(line 2, column 't2'\) but missing",
        "t1,t2\na.png,\n": r"m\.csv: line 2 has no path in column 't2'",
    }
    for text, message in cases.items():
        (tmp_path / "m.csv").write_text(text)
        with pytest.raises(DataError, match=message):
            image_set(tmp_path / "m.csv", (32, 32), channels=["t1", "t2"])
    with pytest.raises(DataError, match="no such folder or manifest"):
        image_set(tmp_path / "nowhere.csv", (32, 32))
    with pytest.raises(ConfigError, match="need a CSV manifest"):
        image_set(tmp_path, (32, 32), channels=["t1", "t2"])
    with pytest.raises(ConfigError, match="image_shape must be"):
        image_set(tmp_path, (4, 32))
