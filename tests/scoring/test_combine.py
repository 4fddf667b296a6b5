"""Rank averaging of anomaly maps on healthy-voxel scales."""

from __future__ import annotations

import numpy as np
import pytest

from medmonai.errors import ConfigError
from medmonai.scoring import HealthyScaleCombination


def test_each_value_becomes_its_fraction_of_lower_healthy_values_and_the_fractions_are_averaged():
    healthy = {"a": np.arange(10.0), "b": np.arange(100.0, 200.0, 10.0)}  # 0..9 and 100..190
    combined = HealthyScaleCombination(["a", "b"]).fit(healthy)
    maps = {"a": np.array([4.5, 0.0, 9.0]), "b": np.array([100.0, 155.0, 190.0])}
    # a: 5/10, 1/10, 10/10; b: 1/10, 6/10, 10/10
    np.testing.assert_allclose(combined(maps), [0.3, 0.35, 1.0], atol=1e-6)


def test_values_beyond_every_healthy_value_keep_their_order():
    combined = HealthyScaleCombination(["a", "b"]).fit({"a": np.arange(10.0), "b": np.arange(10.0)})
    out = combined({"a": np.array([9.0, 12.0, 50.0]), "b": np.array([9.0, 9.0, 9.0])})
    assert out[0] < out[1] < out[2]
    assert out[2] - out[0] <= HealthyScaleCombination.tail_weight  # never more than the tail weight


def test_scales_do_not_matter_only_ranks_do():
    rng = np.random.default_rng(0)
    healthy = {"a": rng.normal(size=1000), "b": rng.normal(size=1000)}
    maps = {"a": rng.normal(size=50), "b": rng.normal(size=50)}
    scaled = {"a": healthy["a"] * 1000.0, "b": healthy["b"]}
    first = HealthyScaleCombination(["a", "b"]).fit(healthy)(maps)
    second = HealthyScaleCombination(["a", "b"]).fit(scaled)({"a": maps["a"] * 1000.0, "b": maps["b"]})
    np.testing.assert_allclose(first, second, atol=1e-6)


def test_errors_name_the_problem():
    with pytest.raises(ConfigError, match="at least two methods and a rule"):
        HealthyScaleCombination(["a", "b"], rule="sum")
    with pytest.raises(ConfigError, match="at least two methods"):
        HealthyScaleCombination(["a"])
    with pytest.raises(ConfigError, match="no healthy values for 'b'"):
        HealthyScaleCombination(["a", "b"]).fit({"a": np.ones(3)})
    with pytest.raises(ConfigError, match="must be fitted"):
        HealthyScaleCombination(["a", "b"])({"a": np.ones(3), "b": np.ones(3)})


def test_exceedance_max_keeps_the_strongest_methods_distance_above_its_healthy_top():
    healthy = {"a": np.arange(1001.0), "b": np.arange(1001.0) / 100.0}  # medians 500 and 5; 0.999 quantiles 999, 9.99
    combined = HealthyScaleCombination(["a", "b"], rule="exceedance_max").fit(healthy)
    out = combined({"a": np.array([500.0, 1498.0, 500.0]), "b": np.array([5.0, 5.0, 14.98])})
    np.testing.assert_allclose(out, [0.0, 2.0, 2.0], atol=1e-3)  # twice as far above the median as the top
