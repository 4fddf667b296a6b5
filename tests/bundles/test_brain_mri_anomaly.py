"""End-to-end tests of bundles/brain_mri_anomaly with its real configs, tiny overrides and small data."""

from __future__ import annotations

import json
import math
import re

import matplotlib.image
import nibabel as nib
import numpy as np
import pytest
import torch
from monai.bundle import ConfigWorkflow

from medmonai.data import embedded_brains
from medmonai.errors import find_user_error
from tests.bundles.helpers import missing_properties, run_cli, run_configs
from tests.conftest import REPO

BUNDLE = REPO / "bundles" / "brain_mri_anomaly" / "configs"
SMALL = {"embedded_train": 2, "embedded_val": 1, "embedded_test_lesion": 4, "embedded_test_healthy": 1}
TINY = {"max_epochs": 2, "ckpt_interval": 1, "patches_per_volume": 2, **SMALL}
KINDS = ("hyperintense", "hypointense", "texture", "mass_effect")
METRICS = ("voxel_auroc", "voxel_auprc", "dice_at_threshold", "dice_oracle", "lesion_detection_rate")
SAMPLE = ("sample_auroc", "sample_ap", "sample_detection_rate", "sample_fpr")


def brain_workflow(configs, output_dir, **overrides) -> ConfigWorkflow:
    files = [str(BUNDLE / c) for c in configs]
    kind = "train" if configs == ["train.yaml"] else None
    return ConfigWorkflow(config_file=files, workflow_type=kind, output_dir=str(output_dir), **overrides)


def run(configs, output_dir, **overrides) -> ConfigWorkflow:
    return run_configs(BUNDLE, configs, output_dir, **overrides)


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    return str(tmp_path_factory.mktemp("medmonai_cache"))


@pytest.fixture(scope="module")
def trained(tmp_path_factory, cache):
    """Three models trained for two epochs, then the whole evaluation."""
    out = tmp_path_factory.mktemp("brain_mri_anomaly")
    run(["train.yaml"], out, cache_dir=cache, model="ae3d", **TINY)
    run(["train.yaml"], out, cache_dir=cache, model="ae2d", **TINY)
    run(["train.yaml"], out, cache_dir=cache, model="ssad3d", **TINY)
    run(["train.yaml", "evaluate.yaml"], out, cache_dir=cache, **SMALL)
    return out


def test_train_config_has_every_property(tmp_path, cache):
    wf = brain_workflow(["train.yaml"], tmp_path, cache_dir=cache, **SMALL)
    wf.initialize()
    assert wf.check_properties() == []


def test_evaluation_compares_the_baseline_and_every_trained_model(trained):
    metrics = json.loads((trained / "metrics.json").read_text())
    for method in (
        "intensity_threshold",
        "ae3d",
        "ae2d",
        "ssad3d",
        "ssad3d+intensity",
        "ssad3d|intensity",
        "ae3d+intensity",
        "intensity~low",
        "ssad3d|intensity|intensity~low",
    ):
        for name in METRICS + SAMPLE:
            assert math.isfinite(metrics[f"{method}/{name}"]), (method, name)
        for kind in KINDS:
            for name in METRICS:
                assert f"{method}/{name}_{kind}" in metrics
        assert 0.0 <= metrics[f"{method}/dice_at_threshold"] <= 1.0
        # the oracle Dice is taken before small components are removed, so it may fall below dice_at_threshold
        assert 0.0 < metrics[f"{method}/dice_oracle"] <= 1.0
    assert "vae3d/voxel_auroc" not in metrics  # never trained here
    # hyperintense lesions are what intensity thresholding finds, on this data as in the literature
    assert metrics["intensity_threshold/voxel_auroc_hyperintense"] > 0.9
    # ... and darker-than-healthy intensity finds what it cannot: hypointense lesions
    dark, bright = (metrics[f"{m}/voxel_auroc_hypointense"] for m in ("intensity~low", "intensity_threshold"))
    assert dark > 0.7 > 0.3 > bright
    table = (trained / "comparison.md").read_text()
    rows = ("| intensity_threshold |", "| ae3d |", "| ae2d |", "| ssad3d |", "| ssad3d+intensity |", "oracle")
    for row in (*rows, "## Lesion kind: mass_effect"):
        assert row in table
    settings = json.loads((trained / "evaluation_settings.json").read_text())
    assert settings["postprocessing"]["median_size"] == 3 and settings["sliding_window"]["roi_size"] == [32, 32, 32]
    assert settings["combinations"]["ssad3d+intensity"] == {
        "methods": ["ssad3d", "intensity_threshold"],
        "rule": "rank_mean",
    }
    assert settings["combinations"]["intensity~low"] == {
        "methods": ["intensity_threshold"],
        "rule": "voxelwise_z_lower",
    }
    assert 0.0 <= metrics["ssad3d/voxel_threshold"] <= 1.0  # a probability
    figure = matplotlib.image.imread(trained / "roc_pr.png")
    assert figure.shape[0] > 300 and figure[..., :3].std() > 0.05


def test_maps_overlay_their_inputs(trained, cache):
    dataset = embedded_brains(cache, n_train=2, n_val=1, n_test_lesion=4, n_test_healthy=1)
    test_items = json.loads(dataset.read_text())["test"]
    assert len(list((trained / "maps").glob("*_anomaly.nii.gz"))) == len(test_items) == 5
    for item in test_items:
        image = nib.load(dataset.parent / item["image"])
        case = item["image"].split("/")[-1].replace(".nii.gz", "")
        written = nib.load(trained / "maps" / f"{case}_anomaly.nii.gz")
        assert written.shape == image.shape and np.allclose(written.affine, image.affine)
        # the default map: the segmenter, bright intensity and darker-than-healthy intensity together
        assert (
            written.header["descrip"].tobytes().rstrip(b"\0") == b"medmonai anomaly map: ssad3d|intensity|intensity~low"
        )
        assert written.get_fdata().max() > 0
    overlay = matplotlib.image.imread(trained / "overlays" / "lesion_000_t1.png")
    assert overlay.shape[0] > 300 and overlay[..., :3].std() > 0.05


def test_inference_maps_a_chosen_split_with_one_model(trained, cache, tmp_path):
    run(
        ["train.yaml", "inference.yaml"],
        trained,
        cache_dir=cache,
        model="ssad3d",
        inference_split="val",
        maps_dir=str(tmp_path / "maps"),
        overlays_dir="",
        **SMALL,
    )
    assert [p.name for p in (tmp_path / "maps").iterdir()] == ["val_000_t1_anomaly.nii.gz"]
    overlay = ["train.yaml", "inference.yaml"]
    assert missing_properties(BUNDLE, overlay, "infer", trained, cache_dir=cache, model="ssad3d", **SMALL) == []
    probability = nib.load(tmp_path / "maps" / "val_000_t1_anomaly.nii.gz").get_fdata()
    assert probability.max() > 0 and probability.max() <= 1.0  # the segmenter maps a probability


@pytest.mark.parametrize("model", ["ae3d", "ssad3d"])  # noise, or synthetic anomalies, from the saved RNG
def test_training_resumes_exactly_and_can_be_extended(trained, cache, tmp_path, model):
    run(["train.yaml"], trained, cache_dir=cache, model=model, **{**TINY, "max_epochs": 3})
    names = sorted(p.name for p in (trained / model / "checkpoints").iterdir())
    assert names[-1] == "checkpoint_epoch=3.pt"
    run(["train.yaml"], tmp_path, cache_dir=cache, model=model, **{**TINY, "max_epochs": 3})  # uninterrupted
    resumed = torch.load(trained / model / "model.pt", weights_only=True)
    straight = torch.load(tmp_path / model / "model.pt", weights_only=True)
    assert all(torch.equal(resumed[k], straight[k]) for k in straight)  # same patches, corruptions and steps


# --- bad input: a one-line error naming the file, and nothing written -------------------------------------------


AFFINE = np.diag([2.0, 2.0, 2.0, 1.0])


def _save(path, data, affine=AFFINE):
    nib.save(nib.Nifti1Image(data, affine), str(path))
    return str(path)


@pytest.fixture
def user_data(tmp_path):
    """A small user data set as decathlon JSON: 2 healthy training, 1 validation, 1 test volume."""
    rng = np.random.default_rng(0)
    root = tmp_path / "data"
    root.mkdir()
    shape = (24, 24, 20)

    def case(name, lesion=False):
        image = (100 + 10 * rng.random(shape)).astype(np.float32)
        item = {"image": _save(root / f"{name}.nii.gz", image)}
        item["brain_mask"] = _save(root / f"{name}_mask.nii.gz", np.ones(shape, np.uint8))
        if lesion:
            item["label"] = _save(root / f"{name}_label.nii.gz", np.zeros(shape, np.uint8))
        return item

    lists = {"training": [case("t0"), case("t1")], "validation": [case("v0")], "test": [case("x0", lesion=True)]}
    (root / "dataset.json").write_text(json.dumps(lists))
    return root


def _break(root, problem):
    shape = (24, 24, 20)
    if problem == "shape":
        _save(root / "x0_label.nii.gz", np.zeros((24, 24, 21), np.uint8))
    elif problem == "affine":
        _save(root / "x0_label.nii.gz", np.zeros(shape, np.uint8), np.diag([2.0, 2.0, 2.5, 1.0]))
    elif problem in ("nan", "inf"):
        image = nib.load(root / "x0.nii.gz").get_fdata().astype(np.float32)
        image[3, 3, 3] = np.nan if problem == "nan" else np.inf
        _save(root / "x0.nii.gz", image)
    elif problem == "2d":
        _save(root / "v0.nii.gz", np.ones((24, 24), np.float32))
    elif problem == "4d":
        _save(root / "v0.nii.gz", np.ones((*shape, 2), np.float32))
    elif problem == "missing":
        (root / "t1.nii.gz").unlink()
    elif problem == "empty":
        (root / "dataset.json").write_text(json.dumps({"training": [], "validation": [], "test": []}))
    elif problem == "malformed":
        (root / "dataset.json").write_text('{"training": [')


BAD = {
    "shape": r"x0_label\.nii\.gz: size \(24, 24, 21\) differs from x0\.nii\.gz \(24, 24, 20\)",
    "affine": r"x0_label\.nii\.gz: affine differs from x0\.nii\.gz beyond tolerance",
    "nan": r"x0\.nii\.gz: volume holds NaN or infinite values",
    "inf": r"x0\.nii\.gz: volume holds NaN or infinite values",
    "2d": r"v0\.nii\.gz: expected a 3-D volume, got 2-D",
    "4d": r"v0\.nii\.gz: expected a 3-D volume, got 4-D",
    "missing": r"t1\.nii\.gz: listed in .*dataset\.json \(item 1, image\) but missing",
    "empty": r"dataset\.json: section 'training' lists no items",
    "malformed": r"dataset\.json: malformed JSON",
    "roi": r"t0\.nii\.gz: roi_size \(32, 32, 32\) is larger than the volume \(24, 24, 20\)",
}


@pytest.mark.parametrize("problem", list(BAD))
def test_bad_input_fails_in_one_line_and_writes_nothing(user_data, tmp_path, problem):
    _break(user_data, problem)
    out = tmp_path / "out"
    roi = [32, 32, 32] if problem == "roi" else [8, 8, 8]
    with pytest.raises(Exception) as info:
        run(["train.yaml", "evaluate.yaml"], out, datalist=str(user_data / "dataset.json"), roi_size=roi)
    error = find_user_error(info.value)
    assert error is not None and re.search(BAD[problem], str(error)), info.value
    assert "\n" not in str(error)
    leftovers = [p for p in out.rglob("*") if p.is_file()] if out.exists() else []
    assert leftovers == []


def test_the_command_line_prints_one_line_and_exits_non_zero(user_data, tmp_path):
    _break(user_data, "nan")
    configs = f"['{BUNDLE / 'train.yaml'}','{BUNDLE / 'evaluate.yaml'}']"
    result = run_cli(
        configs,
        "--datalist",
        str(user_data / "dataset.json"),
        "--roi_size",
        "[8, 8, 8]",
        "--output_dir",
        str(tmp_path / "out"),
        cwd=tmp_path,
        bundle=None,
    )
    assert result.returncode == 1
    last = result.stderr.strip().splitlines()[-1]
    assert re.fullmatch(r"medmonai: error: .*x0\.nii\.gz: volume holds NaN or infinite values", last), result.stderr
    assert not (tmp_path / "out" / "metrics.json").exists() and not (tmp_path / "out" / "maps").exists()
