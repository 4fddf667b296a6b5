"""End-to-end tests of bundles/oct_vae_anomaly with its real configs, tiny overrides and a synthetic OCT2017 tree."""

from __future__ import annotations

import csv
import json
import math
import re
import shutil
from pathlib import Path

import matplotlib.image
import numpy as np
import pytest
import torch
from PIL import Image

from medmonai.errors import find_user_error
from tests.bundles.helpers import missing_properties, run_configs
from tests.conftest import REPO
from tests.data.test_kermany import break_oct_tree, write_oct_tree

BUNDLE = REPO / "bundles" / "oct_vae_anomaly" / "configs"
SMALL = {"image_size": 32, "latent_size": 8, "base_channels": 8, "batch_size": 8}
TINY = {"max_epochs": 2, "val_interval": 1, "ckpt_interval": 1, **SMALL}


@pytest.fixture(scope="module")
def tree(tmp_path_factory):
    return write_oct_tree(tmp_path_factory.mktemp("oct") / "OCT2017", per_class=6, patients=3)


def test_train_and_evaluate_on_the_real_layout(tree, tmp_path):
    run_configs(BUNDLE, ["train.yaml"], tmp_path, dataset_dir=str(tree), **TINY)
    run_configs(BUNDLE, ["train.yaml", "evaluate.yaml"], tmp_path, dataset_dir=str(tree), n_samples=3, **SMALL)
    metrics = json.loads((tmp_path / "metrics.json").read_text(encoding="utf-8"))
    for score in ("recon", "kl", "vae"):
        for disease in ("cnv", "dme", "drusen", "all"):
            assert math.isfinite(metrics[f"{score}/auroc_{disease}"]) and math.isfinite(
                metrics[f"{score}/ap_{disease}"]
            )
    assert metrics["n_test_normal"] == metrics["n_test_cnv"] == 6
    table = (tmp_path / "auc_table.md").read_text(encoding="utf-8")
    assert "| reference 001 | Reconstruction Score | 0.930 | 0.900 | 0.770 | 0.870 |" in table
    assert "| **medmonai (measured)** | VAE Score |" in table
    for name in ("roc.png", "reconstructions.png", "score_hist.png"):
        figure = matplotlib.image.imread(tmp_path / name)
        assert figure.shape[0] > 200 and figure[..., :3].std() > 0.05, name


def test_without_data_it_trains_evaluates_and_scores_the_embedded_synthetic_scans(tmp_path):
    cache = tmp_path / "cache"
    run_configs(BUNDLE, ["train.yaml"], tmp_path, cache_dir=str(cache), **TINY)
    assert missing_properties(BUNDLE, ["train.yaml"], "train", tmp_path, cache_dir=str(cache), **TINY) == []
    run_configs(BUNDLE, ["train.yaml", "evaluate.yaml"], tmp_path, cache_dir=str(cache), **SMALL)
    run_configs(BUNDLE, ["train.yaml", "calibrate.yaml"], tmp_path, cache_dir=str(cache), **SMALL)
    calibration = json.loads((tmp_path / "thresholds.json").read_text(encoding="utf-8"))
    assert calibration["method"] == "vae" and calibration["settings"]["image_size"] == SMALL["image_size"]
    assert calibration["n_healthy_volumes"] == 32  # the val split: NORMAL patients held out of training
    run_configs(BUNDLE, ["train.yaml", "inference.yaml"], tmp_path, cache_dir=str(cache), **SMALL)
    overlay = ["train.yaml", "inference.yaml"]
    assert missing_properties(BUNDLE, overlay, "infer", tmp_path, cache_dir=str(cache), **SMALL) == []
    rows = list(csv.DictReader((tmp_path / "inference" / "scores.csv").open()))
    assert len(rows) == 200 and {r["class"] for r in rows} == {"NORMAL", "CNV", "DME", "DRUSEN"}
    assert all(r["source"].endswith(".jpeg") and Path(r["source"]).is_file() for r in rows)
    for r in rows:  # the VAE score is the negative ELBO: reconstruction plus KL
        assert float(r["vae"]) == pytest.approx(float(r["recon"]) + float(r["kl"]), rel=1e-4)
    cases = list(csv.DictReader((tmp_path / "inference" / "cases.csv").open()))
    assert [c["source"] for c in cases] == [r["source"] for r in rows]
    for case, row in zip(cases, rows, strict=True):  # flagged by the calibrated VAE score, nothing else
        assert float(case["image_score"]) == pytest.approx(float(row["vae"]), rel=1e-5)
        assert case["abnormal"] == str(int(float(case["image_score"]) > calibration["image_threshold"]))
    assert 0 < sum(c["abnormal"] == "1" for c in cases) < len(cases)
    assert sum(bool(c["overlay"]) for c in cases) == 100  # report_cases
    page = (tmp_path / "inference" / "report.html").read_text(encoding="utf-8")
    assert page.count('<tr class="') == 200 and page.count('<section id="case-') == 100  # every row, 100 drawn
    (tree,) = cache.glob("oct_synthetic_*/OCT2017")
    metrics = json.loads((tmp_path / "metrics.json").read_text(encoding="utf-8"))
    assert metrics["n_test_normal"] == metrics["n_test_dme"] == len(list((tree / "test" / "DME").iterdir())) == 50
    assert all(math.isfinite(metrics[f"vae/auroc_{d}"]) for d in ("cnv", "dme", "drusen", "all"))
    new = tmp_path / "new_bscans"  # a user's plain folder of images, no labels, no layout
    new.mkdir()
    for i, path in enumerate(sorted((tree / "test" / "DME").iterdir())[:2]):
        shutil.copy(path, new / f"scan_{i}.jpeg")
    Image.open(path).save(new / "scan_2.png")
    weights = {"ckpt_path": str(tmp_path / "model.pt"), "thresholds_path": str(tmp_path / "thresholds.json")}
    run_configs(BUNDLE, overlay, tmp_path / "new", cache_dir=str(cache), input_dir=str(new), **SMALL, **weights)
    out = tmp_path / "new" / "inference"
    rows = list(csv.DictReader((out / "scores.csv").open()))
    assert [Path(r["source"]).name for r in rows] == ["scan_0.jpeg", "scan_1.jpeg", "scan_2.png"]
    assert all(r["class"] == "" and float(r["vae"]) > 0 for r in rows)
    cases = {c["case_id"]: c for c in csv.DictReader((out / "cases.csv").open())}
    assert sorted(cases) == ["scan_0", "scan_1", "scan_2"]
    for name, case in cases.items():
        anomaly_map = np.asarray(Image.open(out / case["anomaly_map"]))
        segmentation = np.asarray(Image.open(out / case["segmentation"]))
        assert anomaly_map.dtype == np.float32 and anomaly_map.shape == segmentation.shape == (32, 32)
        np.testing.assert_array_equal(segmentation == 255, anomaly_map > calibration["voxel_threshold"])
        assert int(case["region_pixels"]) == int((segmentation == 255).sum())
        figure = matplotlib.image.imread(out / case["overlay"])
        assert figure.shape[0] > 200 and figure[..., :3].std() > 0.05, name
    page = (out / "report.html").read_text(encoding="utf-8")
    assert page.count("data:image/png;base64,") == 3 and '<table id="cases">' in page


def test_inference_refuses_a_missing_or_mismatched_calibration(tree, tmp_path):
    run_configs(BUNDLE, ["train.yaml"], tmp_path, dataset_dir=str(tree), max_epochs=1, **SMALL)
    overlay = ["train.yaml", "inference.yaml"]
    with pytest.raises(Exception) as info:
        run_configs(BUNDLE, overlay, tmp_path, dataset_dir=str(tree), **SMALL)
    message = str(find_user_error(info.value))
    assert re.search(r"thresholds\.json: no calibration; run evaluate\.yaml or calibrate\.yaml", message), message
    run_configs(BUNDLE, ["train.yaml", "calibrate.yaml"], tmp_path, dataset_dir=str(tree), **SMALL)
    with pytest.raises(Exception) as info:
        run_configs(BUNDLE, overlay, tmp_path, dataset_dir=str(tree), **{**SMALL, "n_samples": 3})
    message = str(find_user_error(info.value))
    assert "settings differ from the calibration (n_samples: calibrated 1, given 3)" in message, message
    with pytest.raises(Exception) as info:
        run_configs(BUNDLE, overlay, tmp_path, dataset_dir=str(tree), flag_score="kl", **SMALL)
    assert "calibrated for 'vae', but this run uses 'kl'" in str(find_user_error(info.value))
    assert not (tmp_path / "inference").exists()


def test_a_target_fpr_sets_the_quantile_and_manual_thresholds_override_it(tree, tmp_path):
    data = {"dataset_dir": str(tree), **SMALL}
    run_configs(BUNDLE, ["train.yaml"], tmp_path, max_epochs=1, **data)
    run_configs(BUNDLE, ["train.yaml", "calibrate.yaml"], tmp_path, target_fpr=0.5, **data)
    calibration = json.loads((tmp_path / "thresholds.json").read_text(encoding="utf-8"))
    n = calibration["n_healthy_volumes"]
    assert (
        calibration["rules"]["image_threshold"]
        == f"fpr 0.5 on {n} healthy images: the 0.5 quantile of their image scores"
    )
    overlay = ["train.yaml", "inference.yaml"]
    run_configs(BUNDLE, overlay, tmp_path, inference_split="val", **data)  # the healthy images calibrated on
    scores = [float(r["vae"]) for r in csv.DictReader((tmp_path / "inference" / "scores.csv").open())]
    assert len(scores) == n and calibration["image_threshold"] == pytest.approx(np.median(scores), rel=1e-5)
    manual = {"image_threshold": 1e9, "pixel_threshold": 0.25, "inference_dir": str(tmp_path / "manual")}
    run_configs(BUNDLE, overlay, tmp_path, **manual, **data)
    cases = list(csv.DictReader((tmp_path / "manual" / "cases.csv").open()))
    assert cases and all(c["abnormal"] == "0" for c in cases)  # no score reaches the manual image threshold
    assert {(c["image_threshold_source"], c["pixel_threshold"], c["pixel_threshold_source"]) for c in cases} == {
        ("manual", "0.25", "manual")
    }
    for case in cases:  # segmented at the manual pixel threshold
        anomaly_map = np.asarray(Image.open(tmp_path / "manual" / case["anomaly_map"]))
        assert int(case["region_pixels"]) == int((anomaly_map > 0.25).sum())


def test_a_resumed_run_repeats_an_uninterrupted_one_exactly(tree, tmp_path):
    """Epoch 2 shuffles and trains alike whether or not the run stopped after epoch 1 (checkpointed RNG state)."""
    settings = {"dataset_dir": str(tree), "val_interval": 1, "ckpt_interval": 1, **SMALL}
    run_configs(BUNDLE, ["train.yaml"], tmp_path / "straight", max_epochs=2, **settings)
    run_configs(BUNDLE, ["train.yaml"], tmp_path / "resumed", max_epochs=1, **settings)
    run_configs(BUNDLE, ["train.yaml"], tmp_path / "resumed", max_epochs=2, **settings)
    straight = torch.load(tmp_path / "straight" / "model.pt", weights_only=True)
    resumed = torch.load(tmp_path / "resumed" / "model.pt", weights_only=True)
    assert straight.keys() == resumed.keys()
    assert all(torch.equal(straight[k], resumed[k]) for k in straight)


BAD = {
    "empty": r"train/DME: empty class folder",
    "unreadable": r"DRUSEN-\d+-0\.jpeg: unreadable image",
    "layout": r"OCT2017: no test/ folder; expected OCT2017/\{train,test\}",
    "one_pixel": r"NORMAL-\d+-1\.jpeg: image is 1x1 pixels, too small \(each side >= 32\)",
    "truncated": r"CNV-\d+-0\.jpeg: truncated JPEG \(no end-of-image marker\)",
}


@pytest.mark.parametrize("problem", list(BAD))
def test_bad_input_fails_in_one_line_and_writes_nothing(tmp_path, problem):
    root = break_oct_tree(write_oct_tree(tmp_path / "OCT2017", per_class=2, patients=2), problem)
    out = tmp_path / "out"
    with pytest.raises(Exception) as info:
        run_configs(BUNDLE, ["train.yaml"], out, dataset_dir=str(root), **TINY)
    error = find_user_error(info.value)
    assert error is not None and re.search(BAD[problem], str(error)), info.value
    assert not out.exists()
