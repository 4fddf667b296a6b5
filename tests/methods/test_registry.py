"""The method registry: what it refuses, what each registered method builds, and how a bundle selects methods."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from monai.inferers import SlidingWindowInferer
from torch import nn

from medmonai import runs
from medmonai.errors import CheckpointError, ConfigError
from medmonai.methods import (
    METHODS,
    AnomalyMethod,
    CombinedMap,
    MethodRegistry,
    NormativeMap,
    anomaly_mappers,
    available,
    calibration_paths,
    create,
    shown_method,
)
from medmonai.scoring import HealthyScaleCombination, VoxelwiseStandardization

ROI = (16, 16, 16)
INFERER = SlidingWindowInferer(roi_size=ROI, sw_batch_size=2, overlap=0.25, mode="gaussian")


class Plain(AnomalyMethod):
    def network(self) -> nn.Module:
        return nn.Conv3d(1, 1, 1)  # voxel-wise, so tiling cannot change the map


class Volume(AnomalyMethod):
    needs_weights = False
    input = "volume"
    trainer = None

    def scorer(self, network):
        return nn.Identity()


def test_an_unknown_or_doubly_registered_method_is_refused_naming_the_valid_ones():
    registry = MethodRegistry({"plain": Plain})
    with pytest.raises(ConfigError, match=r"method must be one of \['plain'\], got 'plian'"):
        registry["plian"]
    with pytest.raises(ConfigError, match="'plain' is registered already"):
        registry.register("plain", Volume)


@pytest.mark.parametrize(
    "entry, message",
    [
        (nn.Conv3d, "is not an AnomalyMethod subclass"),
        (type("Odd", (Plain,), {"input": "slab"}), r"input must be one of \['patch', 'volume'\], got 'slab'"),
        (type("NoTrainer", (Plain,), {"trainer": None}), "needs weights, so it must name its trainer"),
    ],
)
def test_a_method_that_declares_nonsense_is_refused_when_picked(entry, message):
    registry = MethodRegistry({"m": entry})
    with pytest.raises(ConfigError, match=message):
        registry["m"]


def test_a_lazy_entry_is_imported_once_picked_and_create_passes_only_the_settings_a_method_takes():
    registry = MethodRegistry({"ae3d": "medmonai.methods.ae3d:DenoisingAE3D"})
    method = registry.create("ae3d", {"noise_std": 0.1, "anomaly_prob": 0.9, "map_kind": "elbo"})
    assert method.name == "ae3d" and method.noise == {"std": 0.1, "scale": 8}
    assert method.map_kind == "absolute"  # an autoencoder has no ELBO, so its residual stands in


@pytest.mark.parametrize("name", [n for n in METHODS if METHODS[n].needs_weights])
def test_every_trained_method_builds_a_network_its_trainer_loss_and_map_fit(name):
    method = create(name, {"roi_size": ROI})
    torch.manual_seed(0)
    network = method.network()
    x = torch.rand(2, 1, *ROI)
    corruption = method.corruption()
    inputs, target = (x, x) if corruption is None else _corrupted(corruption(x), x)
    out = network(inputs)
    loss = method.loss()
    prediction = out[method.prediction] if method.prediction else out
    if getattr(loss, "output_keys", None):
        value = loss(*(out[k] for k in loss.output_keys[:1]), target, *(out[k] for k in loss.output_keys[1:]))
    else:
        value = loss(prediction, target)
    assert value.ndim == 0 and torch.isfinite(value)
    score = method.scorer(network)(x)
    assert score.shape == (2, 1, *ROI) and torch.isfinite(score).all()


def _corrupted(out, x):
    return out if isinstance(out, tuple) else (out, x)


def test_available_finds_weightless_and_trained_methods_and_names_what_is_missing(tmp_path):
    runs.weights_path(tmp_path, "ae3d").parent.mkdir()
    torch.save({}, runs.weights_path(tmp_path, "ae3d"))
    assert list(available(tmp_path)) == ["intensity_threshold", "ae3d"]  # registry order
    with pytest.raises(ConfigError, match=r"vae3d/model\.pt: no weights for method 'vae3d'; train it first"):
        available(tmp_path, ["vae3d"])
    with pytest.raises(ConfigError, match="method must be one of"):
        available(tmp_path, "ae4d")
    assert calibration_paths(["ae3d"], tmp_path) == {"ae3d": str(tmp_path / "ae3d" / "thresholds.json")}


def test_mappers_load_weights_from_the_run_folder_or_a_given_path(tmp_path):
    method = Plain()
    method.name = "plain"
    network = method.network()
    runs.weights_path(tmp_path, "plain").parent.mkdir()
    torch.save(network.state_dict(), runs.weights_path(tmp_path, "plain"))
    volume = torch.rand(1, 1, 20, 18, 16)
    mapped = anomaly_mappers({"plain": method}, INFERER, output_dir=tmp_path)["plain"](volume)
    expected = (volume - network.eval()(volume)).abs()
    assert torch.allclose(mapped, expected, atol=1e-5)
    with pytest.raises(CheckpointError, match="weights file not found"):
        anomaly_mappers({"plain": method}, INFERER, weights={"plain": tmp_path / "none.pt"})
    with pytest.raises(ConfigError, match="needs trained weights"):
        anomaly_mappers({"plain": method}, INFERER)
    whole = anomaly_mappers({"v": Volume()}, INFERER)["v"]
    assert torch.equal(whole(torch.ones(1, 1, 8, 8, 8)), torch.ones(1, 1, 8, 8, 8))  # smaller than the window


def test_the_shown_method_is_the_preferred_one_when_evaluated_else_the_model_else_the_first():
    a_b = CombinedMap(["a", "b"])
    assert shown_method("a|b", "a", {"a": 0, "b": 0}, {"a|b": a_b}) == "a|b"
    assert shown_method("a|b", "a", {"a": 0}, {"a|b": a_b}) == "a"  # b not evaluated, so neither is a|b
    assert shown_method("a|b", "c", {"b": 0, "a": 0}) == "b"
    # a derived method may use an earlier one, which is evaluated when its own methods are
    derived = {
        "b~low": NormativeMap("b", tail="lower"),
        "a|b~low": CombinedMap(["a", "b~low"]),
        "a~z": NormativeMap("a"),
    }
    assert shown_method("a|b~low", "a", {"a": 0, "b": 0}, derived) == "a|b~low"
    assert shown_method("a~z", "b", {"a": 0}, derived) == "a~z"
    assert shown_method("a|b~low", "a", {"a": 0}, derived) == "a"


def test_derived_methods_fit_on_healthy_records_as_their_scoring_math_does():
    rng = np.random.default_rng(0)
    region = np.zeros((6, 6, 6), bool)
    region[1:5, 1:5, 1:5] = True
    records = [
        {"maps": {m: rng.random((6, 6, 6)).astype(np.float32) for m in "ab"}, "region": region} for _ in range(4)
    ]
    for record in records:
        record["affine"] = np.eye(4)
    combined = CombinedMap(["a", "b"], rule="exceedance_max").fit(records)
    pooled = {m: np.concatenate([r["maps"][m][region] for r in records]) for m in "ab"}
    reference = HealthyScaleCombination(["a", "b"], rule="exceedance_max").fit(pooled)
    np.testing.assert_array_equal(combined(records[0]["maps"]), reference(records[0]["maps"]))
    normative = NormativeMap("a", sigma=0.5, tail="lower").fit(records)
    expected = VoxelwiseStandardization("a", sigma=0.5, tail="lower").fit(records)(records[1]["maps"], np.eye(4))
    np.testing.assert_array_equal(normative(records[1]["maps"], np.eye(4)), expected)
    assert normative.template_space and not combined.template_space and not normative.needs_weights
    assert (combined.rule, normative.rule) == ("exceedance_max", "voxelwise_z_lower")
