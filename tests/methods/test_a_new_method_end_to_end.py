"""A method registered here, in a test, trains, evaluates and maps new scans through the brain bundle's own configs.

This is the worked example of CONTRIBUTING.md: a method is one class (here; in the package, one folder) and one
registry line, and nothing in the bundle changes.
"""

from __future__ import annotations

import csv
import json
import math

import nibabel as nib
import pytest
from torch import nn

from medmonai import runs
from medmonai.data.synthetic.examples import write_example_scans
from medmonai.methods import METHODS, AnomalyMethod
from medmonai.transforms import CoarseNoise
from tests.bundles.helpers import run_configs
from tests.conftest import REPO

BUNDLE = REPO / "bundles" / "brain_mri_anomaly" / "configs"
SMALL = {"embedded_train": 2, "embedded_val": 1, "embedded_test_lesion": 4, "embedded_test_healthy": 1}


class OneLayerDenoiser(AnomalyMethod):
    """The smallest method that trains: one 3x3x3 convolution learns to remove coarse noise from healthy patches."""

    prediction = None  # the network returns one tensor

    def __init__(self, noise_std: float = 0.3) -> None:
        self.noise_std = noise_std

    def network(self) -> nn.Module:
        return nn.Conv3d(1, 1, 3, padding=1)

    def corruption(self):
        return CoarseNoise(std=self.noise_std, scale=8)


def map_example_scans(out, settings, tmp_path):
    """inference.yaml on two example heads (one with a lesion): ``({case: cases.csv row}, inference folder)``."""
    scans, inference = tmp_path / "scans", tmp_path / "inference"
    write_example_scans(scans)
    run_configs(
        BUNDLE, ["train.yaml", "inference.yaml"], out, input_dir=str(scans), inference_dir=str(inference), **settings
    )
    return {r["case_id"]: r for r in csv.DictReader((inference / "cases.csv").open())}, inference


@pytest.fixture
def registered():
    METHODS.register("denoiser1", OneLayerDenoiser)  # the registry line
    yield "denoiser1"
    METHODS.unregister("denoiser1")


def test_a_registered_method_trains_evaluates_calibrates_and_maps_new_scans(registered, tmp_path):
    out, cache = tmp_path / "run", str(tmp_path / "cache")
    settings = {"cache_dir": cache, "model": registered, **SMALL}
    run_configs(BUNDLE, ["train.yaml"], out, max_epochs=2, patches_per_volume=2, **settings)
    assert runs.weights_path(out, registered).is_file() and runs.summary_path(out, registered).is_file()

    run_configs(BUNDLE, ["train.yaml", "evaluate.yaml"], out, **settings)
    metrics = json.loads((out / "metrics.json").read_text(encoding="utf-8"))
    for method in (registered, "intensity_threshold"):  # auto: the weightless baseline and every trained method
        assert math.isfinite(metrics[f"{method}/voxel_auroc"]) and math.isfinite(metrics[f"{method}/sample_auroc"])
    assert "ssad3d/voxel_auroc" not in metrics  # registered but never trained here
    assert f"| {registered} |" in (out / "comparison.md").read_text(encoding="utf-8")
    calibration = json.loads(runs.calibration_path(out, registered).read_text(encoding="utf-8"))
    assert calibration["voxel_threshold"] > 0  # a residual of a one-layer denoiser is never exactly zero
    assert len(list((out / "maps").glob("*_anomaly.nii.gz"))) == 5  # the shown method falls back to @model

    rows, inference = map_example_scans(out, settings, tmp_path)
    assert sorted(rows) == ["mni_healthy", "mni_lesion"]
    for name, row in rows.items():
        assert float(row["image_threshold"]) == pytest.approx(calibration["image_threshold"], rel=1e-5)
        assert nib.load(inference / "maps" / f"{name}_anomaly.nii.gz").get_fdata().max() > 0


def test_intensity_thresholding_is_a_method_too_calibrated_and_used_with_no_weights(tmp_path):
    out, cache = tmp_path / "run", str(tmp_path / "cache")
    settings = {"cache_dir": cache, "model": "intensity_threshold", **SMALL}
    run_configs(BUNDLE, ["train.yaml", "calibrate.yaml"], out, **settings)
    assert not runs.weights_path(out, "intensity_threshold").exists()
    calibration = json.loads(runs.calibration_path(out, "intensity_threshold").read_text(encoding="utf-8"))
    rows, _ = map_example_scans(out, settings, tmp_path)
    assert float(rows["mni_lesion"]["image_threshold"]) == pytest.approx(calibration["image_threshold"], rel=1e-5)
