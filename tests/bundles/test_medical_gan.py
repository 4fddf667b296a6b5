"""End-to-end tests of bundles/medical_gan with its real configs, tiny overrides and the embedded brain slices."""

from __future__ import annotations

import csv
import json
import math
import re

import matplotlib.image
import numpy as np
import pytest
import torch
from monai.bundle import ConfigWorkflow
from PIL import Image

from medmonai.errors import find_user_error
from tests.bundles.helpers import missing_properties, run_configs
from tests.conftest import REPO

BUNDLE = REPO / "bundles" / "medical_gan" / "configs"
# 16x16 images from an 8x8 base: two stages of one epoch each (400 training slices, batches of 16)
SHAPE = {"image_shape": [16, 16], "base_shape": [8, 8], "latent_size": 16, "channel_base": 32, "max_channels": 32}
TINY = {**SHAPE, "stages": {"images": [64, 64], "batch_size": [16, 16]}, "ckpt_interval": 1}


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    return str(tmp_path_factory.mktemp("medmonai_cache"))


@pytest.fixture(scope="module")
def trained(tmp_path_factory, cache):
    out = tmp_path_factory.mktemp("medical_gan")
    run_configs(BUNDLE, ["train.yaml"], out, cache_dir=cache, **TINY)
    return out


def test_training_writes_weights_stage_grids_and_the_quality_report(trained):
    metrics = json.loads((trained / "metrics.json").read_text(encoding="utf-8"))
    for key in ("swd", "swd_real_real", "swd_blurred_mean", "ms_ssim_samples", "ms_ssim_real", "memorisation_nn_ratio"):
        assert math.isfinite(metrics[key]), key
    assert metrics["swd_real_real"] < metrics["swd_blurred_mean"]  # the floor lies below the mean-image baseline
    assert metrics["n_samples"] == metrics["n_real"] == 400
    for name in ("samples/stage0_8x8.png", "samples/stage1_16x16.png", "samples.png", "interpolation.png"):
        figure = matplotlib.image.imread(trained / name)
        assert figure.shape[0] > 100 and figure[..., :3].std() > 0.02, name
    state = torch.load(trained / "model.pt", weights_only=True)  # the averaged generator, at its last stage
    assert int(state["stage"]) == 1 and float(state["alpha"]) == 1.0
    assert (trained / "discriminator.pt").is_file() and (trained / "train_summary.json").is_file()


def test_inference_samples_and_measures_a_trained_generator(trained, cache):
    run_configs(BUNDLE, ["train.yaml", "inference.yaml"], trained, cache_dir=cache, n_samples=40, **TINY)
    metrics = json.loads((trained / "inference" / "metrics.json").read_text(encoding="utf-8"))
    trained_metrics = json.loads((trained / "metrics.json").read_text(encoding="utf-8"))
    assert metrics["n_samples"] == 40 and metrics["swd_real_real"] == trained_metrics["swd_real_real"]
    assert metrics["swd"] != trained_metrics["swd"]  # other latents (sample_seed 1), fewer samples
    assert (trained / "inference" / "interpolation.png").is_file()


def test_train_workflow_has_every_monai_property(trained, cache):
    assert missing_properties(BUNDLE, ["train.yaml"], "train", trained, cache_dir=cache, **TINY) == []


def test_evaluate_puts_three_detectors_side_by_side(trained, cache):
    run_configs(
        BUNDLE, ["train.yaml", "evaluate.yaml"], trained, cache_dir=cache, encoder_epochs=1, ae_epochs=1, **TINY
    )
    metrics = json.loads((trained / "detection_metrics.json").read_text(encoding="utf-8"))
    for name in ("discriminator_ood", "fanogan", "ae", "fanogan_p99", "ae_p99"):
        assert 0.0 <= metrics[f"{name}_auroc"] <= 1.0 and 0.0 <= metrics[f"{name}_fpr"] <= 1.0, name
    assert 0.0 < metrics["fanogan_pixel_auprc"] <= 1.0 and 0.0 < metrics["ae_pixel_auprc"] <= 1.0
    assert metrics["n_test_lesion"] == 60 and metrics["n_test_healthy"] == 60 and metrics["n_val"] == 60
    for name in ("detection_roc.png", "detection_scores.png", "detection_maps.png"):
        assert matplotlib.image.imread(trained / name)[..., :3].std() > 0.02, name
    assert (trained / "fanogan" / "encoder.pt").is_file() and (trained / "ae" / "model.pt").is_file()


def test_export_feeds_this_bundle_and_medmnist_ae_anomaly(trained, cache, tmp_path):
    run_configs(BUNDLE, ["train.yaml", "export.yaml"], trained, cache_dir=cache, n_export=30, **TINY)
    export = trained / "synthetic"
    rows = list(csv.DictReader((export / "manifest.csv").open()))
    assert len(rows) == 30 and list(rows[0]) == ["subject_id", "t1", "t2", "label"]
    first = np.asarray(Image.open(export / rows[0]["t1"]))
    assert first.shape == (16, 16) and first.dtype == np.uint8 and first.std() > 0
    dataset = json.loads((export / "dataset.json").read_text(encoding="utf-8"))
    assert dataset["synthetic"] is True and len(dataset["training"]) == 30
    # this bundle trains on the export as a user's manifest
    overrides = {**TINY, "dataset_dir": str(export / "manifest.csv"), "channels": ["t1", "t2"], "val_fraction": 0.2}
    run_configs(BUNDLE, ["train.yaml"], tmp_path / "again", cache_dir=cache, **overrides)
    assert (tmp_path / "again" / "model.pt").is_file()
    # and medmnist_ae_anomaly on its MedMNIST file
    medmnist = REPO / "bundles" / "medmnist_ae_anomaly" / "configs"
    npz = str(export / "synthetic_medmnist.npz")
    settings = {"dataset_name": "medmnist", "dataset_dir": npz, "normal_classes": "0", "n_anomalies": 20}
    run_configs(medmnist, ["train.yaml"], tmp_path / "ae", max_epochs=1, **settings)
    run_configs(medmnist, ["train.yaml", "evaluate.yaml"], tmp_path / "ae", **settings)
    assert math.isfinite(json.loads((tmp_path / "ae" / "metrics.json").read_text())["noise/auroc"])


def _bad_folder(root, problem):
    root.mkdir()
    rng = np.random.default_rng(0)
    if problem == "empty":
        return root
    for i in range(4):
        Image.fromarray(rng.integers(0, 255, (16, 16), dtype=np.uint8)).save(root / f"img_{i}.png")
    if problem == "mixed_sizes":
        Image.fromarray(rng.integers(0, 255, (20, 16), dtype=np.uint8)).save(root / "img_4.png")
    if problem == "corrupt":
        data = (root / "img_1.png").read_bytes()
        (root / "img_1.png").write_bytes(data[: len(data) // 2])
    return root


BAD = {
    "empty": ({}, r"no images|no .*files|empty"),
    "mixed_sizes": ({"resize": False}, r"img_4\.png: image is 20x16, expected 16x16"),
    "corrupt": ({}, r"img_1\.png: .*(unreadable|truncated|cut short|damaged)"),
    "non_power_of_two": (
        {"image_shape": [12, 16]},
        r"reach 16x16, not image_shape 12x16; image_shape must be base_shape",
    ),
    "short_schedule": (
        {"stages": {"images": [64], "batch_size": [16]}},
        r"1 stages from base_shape 8x8 reach 8x8, not",
    ),
}


@pytest.mark.parametrize("problem", list(BAD))
def test_bad_input_fails_in_one_line_and_writes_nothing(tmp_path, problem):
    overrides, message = BAD[problem]
    folder = _bad_folder(tmp_path / "images", problem if problem in ("empty", "mixed_sizes", "corrupt") else "")
    out = tmp_path / "out"
    with pytest.raises(Exception) as info:
        run_configs(BUNDLE, ["train.yaml"], out, dataset_dir=str(folder), **{**TINY, **overrides})
    error = find_user_error(info.value)
    assert error is not None and re.search(message, str(error)), info.value
    assert "\n" not in str(error) and not out.exists()


def test_the_generator_is_what_monai_tooling_checks(cache, tmp_path):
    wf = ConfigWorkflow(
        str(BUNDLE / "train.yaml"), workflow_type="train", output_dir=str(tmp_path), cache_dir=cache, **TINY
    )
    wf.initialize()
    generator = wf.parser.get_parsed_content("network_def")
    assert generator(torch.randn(3, 16)).shape == (3, 2, 16, 16)


def test_a_1280x1024_config_runs_one_step_per_stage_on_cpu(tmp_path):
    """Two-channel cases at the reference's mammogram size: a 5x4 base doubled 8 times, batch 1, tiny channels."""
    rng = np.random.default_rng(0)
    rows = ["subject_id,cc,mlo"]
    for i in range(3):
        for view in ("cc", "mlo"):
            smooth = np.kron(rng.integers(0, 255, (40, 32)), np.ones((32, 32))).astype(np.uint8)  # 1280x1024
            Image.fromarray(smooth).save(tmp_path / f"case{i}_{view}.png")
        rows.append(f"case{i},case{i}_cc.png,case{i}_mlo.png")
    (tmp_path / "cases.csv").write_text("\n".join(rows) + "\n")
    overrides = {
        "dataset_dir": str(tmp_path / "cases.csv"),
        "channels": ["cc", "mlo"],
        "val_fraction": 0.34,
        "image_shape": [1280, 1024],
        "base_shape": [5, 4],
        "latent_size": 8,
        "channel_base": 32,
        "max_channels": 8,
        "min_channels": 2,
        "stages": {"images": [1] * 9, "batch_size": [1] * 9},
    }
    out = tmp_path / "out"
    wf = run_configs(BUNDLE, ["train.yaml"], out, **overrides)
    trainer = wf.parser.get_parsed_content("train#trainer")
    assert trainer.state.epoch == 9 and trainer.state.iteration == 9 * len(trainer.data_loader)  # one epoch per stage
    assert sorted(p.name for p in (out / "samples").iterdir())[-1] == "stage8_1280x1024.png"
    state = torch.load(out / "model.pt", weights_only=True)
    assert int(state["stage"]) == 8
    generator = wf.parser.get_parsed_content("generator")
    assert generator(torch.randn(1, 8)).shape == (1, 2, 1280, 1024)
