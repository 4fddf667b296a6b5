"""Voxel-wise standardisation of maps against healthy maps, across grids."""

from __future__ import annotations

import numpy as np
import pytest

from medmonai.errors import ConfigError
from medmonai.scoring import VoxelwiseStandardization, resample_to

AFFINE = np.diag([2.0, 2.0, 2.0, 1.0])


def healthy_records(n=5, seed=0):
    """Healthy maps that are high along one slab (an 'edge' every model finds hard) and low elsewhere."""
    rng = np.random.default_rng(seed)
    region = np.ones((12, 12, 12), bool)
    records = []
    for _ in range(n):
        values = rng.normal(0.1, 0.01, size=region.shape).astype(np.float32)
        values[:, :, 9:] += 1.0  # the slab
        records.append({"maps": {"m": values}, "region": region, "affine": AFFINE})
    return records


def test_a_value_that_is_normal_for_its_place_scores_low_and_an_unusual_one_high():
    norm = VoxelwiseStandardization("m", sigma=0.5).fit(healthy_records())
    test = healthy_records(1, seed=9)[0]["maps"]["m"].copy()
    test[5, 5, 2] = 1.1  # as high as the slab, but where healthy maps are low
    z = norm({"m": test}, AFFINE)
    assert z[5, 5, 2] > 5.0
    assert np.median(z[:, :, 10]) < 2.0  # the slab is as high as in healthy maps: not unusual
    assert z.min() >= 0.0 and z.dtype == np.float32


def test_the_tail_decides_which_deviations_score():
    records = healthy_records()
    test = healthy_records(1, seed=9)[0]["maps"]["m"].copy()
    test[5, 5, 2], test[5, 5, 10] = 1.1, 0.1  # too high where healthy maps are low; too low inside the slab
    maps = {"m": test}
    upper, lower, both = (
        VoxelwiseStandardization("m", 0.5, tail=t).fit(records)(maps, AFFINE) for t in VoxelwiseStandardization.TAILS
    )
    assert upper[5, 5, 2] > 5.0 and upper[5, 5, 10] == 0.0
    assert lower[5, 5, 10] > 5.0 and lower[5, 5, 2] == 0.0
    assert both[5, 5, 2] == pytest.approx(upper[5, 5, 2]) and both[5, 5, 10] == pytest.approx(lower[5, 5, 10])
    assert min(upper.min(), lower.min()) >= 0.0


def test_maps_on_another_grid_are_standardised_by_world_coordinates():
    norm = VoxelwiseStandardization("m", sigma=0.5).fit(healthy_records())
    shifted = AFFINE.copy()
    shifted[:3, 3] = [4.0, 0.0, 0.0]  # the same world, two voxels along x
    moved = resample_to(healthy_records(1, seed=9)[0]["maps"]["m"], AFFINE, (12, 12, 12), shifted, cval=0.1)
    z = norm({"m": moved}, shifted)
    assert np.median(z[:8, :, 10]) < 2.0  # the slab, where the statistics also moved with the world


def test_errors():
    with pytest.raises(ConfigError, match="std_floor"):
        VoxelwiseStandardization("m", std_floor=0.0)
    with pytest.raises(ConfigError, match="tail"):
        VoxelwiseStandardization("m", tail="two")
    with pytest.raises(ConfigError, match="needs healthy volumes"):
        VoxelwiseStandardization("m").fit([])
    with pytest.raises(ConfigError, match="must be fitted"):
        VoxelwiseStandardization("m")({"m": np.zeros((2, 2, 2))})
