"""End-to-end tests of bundles/medmnist_ae_anomaly with its real configs, tiny overrides and small data."""

from __future__ import annotations

import csv
import json
import math
import re
from pathlib import Path

import matplotlib.image
import numpy as np
import pytest
from monai.bundle import ConfigWorkflow
from PIL import Image
from sklearn.datasets import load_digits

from medmonai.errors import find_user_error
from tests.bundles.helpers import run_cli, run_configs
from tests.conftest import REPO, write_mnist_idx
from tests.data.test_medmnist import write_npz

BUNDLE = REPO / "bundles" / "medmnist_ae_anomaly" / "configs"
TINY = {"max_epochs": 2, "ckpt_interval": 1, "n_anomalies": 40}


def run(configs, output_dir, **overrides) -> ConfigWorkflow:
    return run_configs(BUNDLE, configs, output_dir, **overrides)


@pytest.fixture(scope="module")
def embedded(tmp_path_factory):
    out = tmp_path_factory.mktemp("medmnist_ae_anomaly")
    run(["train.yaml"], out, **TINY)
    run(["train.yaml", "evaluate.yaml"], out, n_anomalies=40)
    run(["train.yaml", "calibrate.yaml"], out, n_anomalies=40)
    return out


def test_the_embedded_default_runs_all_four_experiments(embedded):
    metrics = json.loads((embedded / "metrics.json").read_text())
    for group in ("other", "noise", "real"):
        for name in ("detection_rate", "auroc", "ap"):
            assert math.isfinite(metrics[f"{group}/{name}"]), (group, name)
    assert metrics["train_images_per_second"] > 0 and 0.0 <= metrics["test_normal_fpr"] <= 100.0
    assert metrics["threshold"] > metrics["train_recon_error"]  # mean + 2 sd
    table = (embedded / "table1.md").read_text()
    assert "| **medmonai (measured)** | digits, normal [0] |" in table
    assert "| reference 004 | PneumoniaMNIST | 0.7381 | 86.2 | 82.5 | 26.0 |" in table
    for name in ("error_hist.png", "reconstructions.png"):
        figure = matplotlib.image.imread(embedded / name)
        assert figure.shape[0] > 200 and figure[..., :3].std() > 0.05, name


def test_workflows_have_every_monai_property(embedded):
    overlay = [str(BUNDLE / "train.yaml"), str(BUNDLE / "inference.yaml")]
    train = ConfigWorkflow(str(BUNDLE / "train.yaml"), workflow_type="train", output_dir=str(embedded), n_anomalies=40)
    infer = ConfigWorkflow(overlay, workflow_type="infer", output_dir=str(embedded), n_anomalies=40)
    for wf in (train, infer):
        wf.initialize()  # inference loads the trained weights here
        assert wf.check_properties() == []


def test_calibration_comes_from_the_normal_training_images(embedded):
    calibration = json.loads((embedded / "thresholds.json").read_text())
    metrics = json.loads((embedded / "metrics.json").read_text())
    assert calibration["method"] == "recon_error" and calibration["settings"]["architecture"] == "bottleneck"
    summary = json.loads((embedded / "train_summary.json").read_text())
    assert calibration["n_healthy_volumes"] == summary["train_images"] // summary["epochs_completed"]
    assert calibration["image_threshold"] > metrics["train_recon_error"]  # the 95th percentile is above the mean


def test_inference_scores_every_test_image_into_a_table(embedded):
    run(["train.yaml", "inference.yaml"], embedded, n_anomalies=40)
    rows = list(csv.DictReader((embedded / "inference" / "scores.csv").open()))
    assert {r["set"] for r in rows} == {"test_normal", "other", "noise", "real"}
    assert sum(r["set"] == "noise" for r in rows) == 40 and {r["label"] for r in rows} == {"0", "1"}
    errors = {s: np.mean([float(r["recon_error"]) for r in rows if r["set"] == s]) for s in ("test_normal", "noise")}
    # the same numbers as the report's: noisy normals reconstruct worse than clean ones
    metrics = json.loads((embedded / "metrics.json").read_text())
    assert errors["test_normal"] == pytest.approx(metrics["test_normal_recon_error"], rel=1e-4)
    assert errors["noise"] > errors["test_normal"]
    cases = list(csv.DictReader((embedded / "inference" / "cases.csv").open()))
    assert [c["case_id"] for c in cases] == [f"{r['set']}_{r['index']}" for r in rows]
    threshold = json.loads((embedded / "thresholds.json").read_text())["image_threshold"]
    flagged = {s: np.mean([c["abnormal"] == "1" for c in cases if c["case_id"].startswith(s)]) for s in errors}
    assert all(c["abnormal"] == str(int(float(c["image_score"]) > threshold)) for c in cases)
    assert flagged["noise"] > flagged["test_normal"]


def test_inference_scores_a_folder_of_new_images(embedded, tmp_path):
    digits = (load_digits().images * 255 / 16).astype(np.uint8)
    for i in range(3):  # a user's own images: any size, no labels
        Image.fromarray(np.kron(digits[i], np.ones((4, 4), np.uint8))).save(tmp_path / f"img_{i}.png")
    out = tmp_path / "out"
    run(
        ["train.yaml", "inference.yaml"],
        out,
        n_anomalies=40,
        input_dir=str(tmp_path),
        ckpt_path=str(embedded / "model.pt"),
        thresholds_path=str(embedded / "thresholds.json"),
    )
    rows = list(csv.DictReader((out / "inference" / "scores.csv").open()))
    assert [Path(r["source"]).name for r in rows] == ["img_0.png", "img_1.png", "img_2.png"]
    assert {r["set"] for r in rows} == {"new"} and {r["label"] for r in rows} == {"-1"}
    assert all(0 < float(r["recon_error"]) < 1 for r in rows)
    cases = list(csv.DictReader((out / "inference" / "cases.csv").open()))
    assert [c["case_id"] for c in cases] == ["img_0", "img_1", "img_2"]
    assert all((out / "inference" / c["overlay"]).is_file() for c in cases)
    assert (out / "inference" / "report.html").read_text().count("data:image/png;base64,") == 3


def test_a_target_fpr_sets_the_quantile_and_manual_thresholds_override_it(embedded, tmp_path):
    weights = {"ckpt_path": str(embedded / "model.pt"), "n_anomalies": 40}
    run(["train.yaml", "calibrate.yaml"], tmp_path, target_fpr=0.2, **weights)
    calibration = json.loads((tmp_path / "thresholds.json").read_text())
    n = calibration["n_healthy_volumes"]
    assert calibration["image_fpr"] == 0.2 and calibration["rules"]["image_threshold"].startswith(f"fpr 0.2 on {n} ")
    # the calibrated threshold is the 0.8 quantile of the normal training images' errors, which inference re-scores
    run(["train.yaml", "inference.yaml"], tmp_path, inference_sets=["train"], **weights)
    errors = [float(r["recon_error"]) for r in csv.DictReader((tmp_path / "inference" / "scores.csv").open())]
    assert len(errors) == n and calibration["image_threshold"] == pytest.approx(np.quantile(errors, 0.8), rel=1e-5)
    cases = list(csv.DictReader((tmp_path / "inference" / "cases.csv").open()))
    assert np.mean([c["abnormal"] == "1" for c in cases]) == pytest.approx(0.2, abs=1.5 / n)
    assert {c["image_threshold_source"] for c in cases} == {f"calibrated: fpr 0.2 on {n} healthy images"}
    assert {c["pixel_threshold_source"] for c in cases} == {f"calibrated: fpr 0.01 on the pixels of {n} healthy images"}
    # thresholds set by hand replace the calibrated ones, and cases.csv says so
    manual = {"image_threshold": 0.0, "pixel_threshold": 1000.0, "inference_dir": str(tmp_path / "manual")}
    run(["train.yaml", "inference.yaml"], tmp_path, **manual, **weights)
    cases = list(csv.DictReader((tmp_path / "manual" / "cases.csv").open()))
    assert all(c["abnormal"] == "1" and c["region_pixels"] == "0" for c in cases)  # errors above 0, none above 1000
    assert {(c["image_threshold"], c["image_threshold_source"]) for c in cases} == {("0.0", "manual")}
    assert {(c["pixel_threshold"], c["pixel_threshold_source"]) for c in cases} == {("1000.0", "manual")}
    assert "<b>set by hand</b>" in (tmp_path / "manual" / "report.html").read_text()


@pytest.mark.parametrize(
    "config, args, message",
    [
        ("calibrate.yaml", ["--target_fpr", "1.5"], "--target_fpr: must be in (0, 1), got 1.5"),
        ("calibrate.yaml", ["--pixel_fpr", "0"], "--pixel_fpr: must be in (0, 1), got 0"),
        (
            "inference.yaml",
            ["--pixel_threshold", "high"],
            "--pixel_threshold: expected a finite number or null, got 'high'",
        ),
    ],
)
def test_a_bad_rate_or_threshold_is_one_line_and_writes_nothing(tmp_path, config, args, message):
    result = run_cli(config, "--output_dir", str(tmp_path / "out"), *args, cwd=tmp_path, bundle=BUNDLE)
    assert result.returncode != 0 and "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines()[-1] == f"medmonai: error: {message}"
    assert not (tmp_path / "out").exists()


def test_medmnist_with_fashion_mnist_and_the_reference_architecture(tmp_path):
    npz = write_npz(tmp_path / "pneumoniamnist_64.npz", size=64)
    fashion = tmp_path / "fashion"
    write_mnist_idx(fashion)
    overrides = {"dataset_name": "medmnist", "dataset_dir": str(npz), "other_dataset": str(fashion)}
    run(["train.yaml"], tmp_path / "out", architecture="reference", **TINY, **overrides)
    run(["train.yaml", "evaluate.yaml"], tmp_path / "out", architecture="reference", n_anomalies=40, **overrides)
    metrics = json.loads((tmp_path / "out" / "metrics.json").read_text())
    assert set(metrics) >= {"real/auroc", "other/auroc", "noise/auroc"}
    assert "| **medmonai (measured)** | pneumoniamnist_64 |" in (tmp_path / "out" / "table1.md").read_text()


BAD = {
    "missing_keys": r"pneumoniamnist\.npz: missing keys \['test_labels'\]",
    "no_normal_class": r"octmnist\.npz: no image of the normal classes \[3\]",
    "not_2d": r"pneumoniamnist\.npz: test_images must hold 2-D images",
    "nan": r"pneumoniamnist\.npz: train image 5 holds NaN or infinite values",
}


@pytest.mark.parametrize("problem", list(BAD))
def test_bad_input_fails_in_one_line_and_writes_nothing(tmp_path, problem):
    if problem == "missing_keys":
        npz = write_npz(tmp_path / "pneumoniamnist.npz", test_labels=None)
    elif problem == "no_normal_class":
        npz = write_npz(tmp_path / "octmnist.npz")
    elif problem == "nan":
        images = np.random.default_rng(0).random((50, 28, 28)).astype(np.float32)
        images[5, 1, 1] = np.inf
        npz = write_npz(tmp_path / "pneumoniamnist.npz", train_images=images)
    else:
        npz = write_npz(tmp_path / "pneumoniamnist.npz", test_images=np.zeros((20, 28), np.uint8))
    out = tmp_path / "out"
    with pytest.raises(Exception) as info:
        run(["train.yaml"], out, dataset_name="medmnist", dataset_dir=str(npz), **TINY)
    error = find_user_error(info.value)
    assert error is not None and re.search(BAD[problem], str(error)), info.value
    assert not out.exists()
