import numpy as np
import pytest
from scipy import ndimage

from medmonai.errors import ConfigError
from medmonai.scoring import (
    MapPostprocessor,
    image_score,
    mean_std_threshold,
    percentile_threshold,
    segment,
    threshold_at_fpr,
)


def test_median_filter_removes_isolated_voxels_and_mask_zeroes_the_outside():
    anomaly_map = np.zeros((9, 9, 9), np.float32)
    anomaly_map[4, 4, 4] = 10.0  # an isolated hot voxel: noise
    anomaly_map[0:3, 0:3, 0:3] = 5.0  # a 3x3x3 block outside the brain
    brain = np.zeros((9, 9, 9), bool)
    brain[2:8, 2:8, 2:8] = True
    post = MapPostprocessor(erode_iterations=1, median_size=3)
    region = post.mask(brain)
    out = post(anomaly_map, region)
    assert region.sum() == 4**3  # eroded once
    assert out[4, 4, 4] == 0.0 and out.max() == 0.0


def test_segment_drops_small_components():
    anomaly_map = np.zeros((10, 10, 10), np.float32)
    anomaly_map[1:4, 1:4, 1:4] = 1.0  # 27 voxels
    anomaly_map[8, 8, 8] = 1.0  # 1 voxel
    region = np.ones_like(anomaly_map, bool)
    assert segment(anomaly_map, region, 0.5).sum() == 28
    assert segment(anomaly_map, region, 0.5, min_component_size=2).sum() == 27
    assert MapPostprocessor(min_component_size=28).segment(anomaly_map, region, 0.5).sum() == 0


def test_settings_are_reported_and_validated():
    assert MapPostprocessor(1, 5, 7).settings == {"erode_iterations": 1, "median_size": 5, "min_component_size": 7}
    with pytest.raises(ConfigError, match="must be >= 0"):
        MapPostprocessor(median_size=-1)


@pytest.mark.parametrize(
    "method, expected",
    [
        ("mean", 2.5),
        ("max", 4.0),
        ("percentile", 3.97),  # 99th percentile of 1..4 with linear interpolation
    ],
)
def test_image_score(method, expected):
    assert image_score(np.array([1.0, 2.0, 3.0, 4.0]), method, 99.0) == pytest.approx(expected)


def test_image_score_rejects_unknown_methods():
    with pytest.raises(ConfigError, match="image score must be one of"):
        image_score(np.ones(3), "median")


def test_thresholds():
    healthy = np.arange(1000, dtype=float)
    assert threshold_at_fpr(healthy, 0.01) == pytest.approx(np.percentile(healthy, 99))
    assert (healthy > threshold_at_fpr(healthy, 0.01)).mean() == pytest.approx(0.01, abs=1e-3)
    assert percentile_threshold(healthy, 95) == pytest.approx(949.05)
    assert mean_std_threshold(np.array([1.0, 3.0]), 2.0) == pytest.approx(4.0)
    with pytest.raises(ConfigError, match=r"fpr must be in \(0, 1\), got 0"):
        threshold_at_fpr(healthy, 0)
    with pytest.raises(ConfigError, match="need healthy scores"):
        percentile_threshold(np.array([]), 95)


def test_filtering_the_region_box_equals_filtering_the_whole_volume():
    rng = np.random.default_rng(0)
    anomaly_map = rng.random((20, 22, 18)).astype(np.float32)
    region = np.zeros(anomaly_map.shape, bool)
    region[5:12, 3:15, 8:17] = True
    region[6, 4, 9] = False
    expected = np.where(region, ndimage.median_filter(anomaly_map, size=3), 0.0)
    assert np.array_equal(MapPostprocessor(median_size=3)(anomaly_map, region), expected)
