import numpy as np
import pytest
import torch
from monai.data import MetaTensor

from medmonai.errors import ConfigError, DataError
from medmonai.transforms import (
    LandmarkStandardize,
    LandmarkStandardized,
    SimpleITKNormalize,
    SimpleITKNormalized,
    fit_landmarks,
)
from medmonai.transforms.intensity.landmarks import LANDMARK_PERCENTILES


def _brain(seed=0):
    volume = np.zeros((1, 24, 20, 12), np.float32)
    volume[:, 4:20, 4:16, 2:10] = np.random.default_rng(seed).normal(300.0, 40.0, (16, 12, 8))
    volume[:, 10:12, 8:10, 5] = 900.0  # a bright "lesion"
    return volume


@pytest.mark.parametrize(
    "case",
    [
        {"name": "numpy", "make": lambda a: a, "type": np.ndarray},  # numpy in, numpy out
        {"name": "torch", "make": torch.as_tensor, "type": torch.Tensor},  # tensor in, tensor out
    ],
    ids=lambda c: c["name"],
)
def test_output_range_type_and_determinism(case):
    volume = _brain()
    first = SimpleITKNormalize()(case["make"](volume))
    second = SimpleITKNormalize()(case["make"](volume.copy()))
    assert isinstance(first, case["type"])
    out = np.asarray(first)
    assert out.shape == volume.shape and out.dtype == np.float32
    assert out.min() == 0.0 and out.max() == 1.0
    np.testing.assert_array_equal(out, np.asarray(second))
    assert out[0, 10, 8, 5] == 1.0 and out[0, 0, 0, 0] == 0.0  # lesion at the top, background at the bottom


def test_otsu_foreground_and_given_mask():
    volume = _brain()
    out, foreground = SimpleITKNormalize().with_foreground(volume)
    assert foreground.shape == volume.shape and foreground.dtype == np.uint8
    assert foreground[0, 4:20, 4:16, 2:10].mean() > 0.95 and foreground[0, :3].max() == 0
    mask = np.zeros_like(volume)
    mask[:, 4:20, 4:16, 2:10] = 1
    _, used = SimpleITKNormalize().with_foreground(volume, mask)
    np.testing.assert_array_equal(used, mask.astype(np.uint8))


def test_dict_version_stores_the_foreground():
    out = SimpleITKNormalized("image", foreground_key="foreground")({"image": _brain(), "case_id": "3"})
    assert out["foreground"].shape == (1, 24, 20, 12) and out["case_id"] == "3"
    np.testing.assert_array_equal(out["image"], SimpleITKNormalize()(_brain()))


@pytest.mark.parametrize(
    "case",
    [
        {"volume": np.full((1, 4, 4, 4), np.nan, np.float32), "message": "volume is all NaN"},  # unreadable scan
        {"volume": np.full((1, 4, 4, 4), 7.0, np.float32), "message": r"volume is constant \(7\)"},  # blank scan
    ],
)
def test_bad_volumes_name_their_file(case):
    img = MetaTensor(case["volume"], meta={"filename_or_obj": "/data/1/dwi.nii.gz"})
    with pytest.raises(DataError, match=r"/data/1/dwi\.nii\.gz: " + case["message"]):
        SimpleITKNormalize()(img)


def test_bad_configuration():
    with pytest.raises(ConfigError, match="foreground must be one of"):
        SimpleITKNormalize(foreground="kmeans")
    with pytest.raises(ConfigError, match="percentiles must satisfy"):
        SimpleITKNormalize(lower_percentile=99, upper_percentile=1)


def test_landmark_standardisation_maps_the_brain_percentiles_onto_the_landmarks():
    rng = np.random.default_rng(0)
    volume = np.zeros((1, 20, 20, 20), np.float32)
    volume[0, 2:18, 2:18, 2:18] = rng.gamma(2.0, 0.2, size=(16, 16, 16)) + 0.05
    mask = (volume != 0).astype(np.uint8)
    landmarks = np.linspace(0.1, 1.1, len(LANDMARK_PERCENTILES))
    out = LandmarkStandardize(landmarks)(volume, mask)
    np.testing.assert_allclose(np.percentile(out[mask > 0], LANDMARK_PERCENTILES), landmarks, atol=0.02)
    assert out.dtype == np.float32 and np.all(out[mask == 0] == 0)  # the background stays 0
    brighter = volume.copy()
    brighter[0, 9, 9, 9] = 50.0  # a lesion far above every landmark stays the brightest voxel
    assert LandmarkStandardize(landmarks)(brighter, mask).max() > 1.1 + 1.0
    items = [{"v": volume}, {"v": volume * 2.0}]
    fitted = fit_landmarks(items, lambda d: {"image": d["v"], "brain_mask": mask})
    np.testing.assert_allclose(fitted, 1.5 * np.percentile(volume[mask > 0], LANDMARK_PERCENTILES), rtol=1e-4)
    assert fit_landmarks(items, lambda d: 1 / 0, enabled=False) is None  # off: nothing is read
    item = {"image": volume, "brain_mask": mask}
    assert LandmarkStandardized("image", None)(item)["image"] is volume


def test_landmarks_must_increase():
    with pytest.raises(ConfigError, match="increasing values"):
        LandmarkStandardize([0.5] * 11)
