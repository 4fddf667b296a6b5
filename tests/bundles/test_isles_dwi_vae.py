"""End-to-end tests of bundles/isles_dwi_vae with its real configs, tiny overrides and small embedded data."""

from __future__ import annotations

import json
import math

import matplotlib.image
import numpy as np
import pytest
import SimpleITK as sitk

from medmonai.errors import find_user_error
from tests.bundles.helpers import missing_properties, run_workflow, workflow
from tests.conftest import REPO
from tests.data.test_isles import write_case

BUNDLE = REPO / "bundles" / "isles_dwi_vae" / "configs"
TINY = {"max_epochs": 2, "val_interval": 1, "ckpt_interval": 1, "n_embedded_cases": 4}
REQUIRED = {
    "n_patches_train",
    "n_patches_test",
    "n_lesion_patches_test",
    "latent_knn_auroc_lesion",
    "silhouette_lesion",
    "elbo_auroc_lesion",
    "train_images_per_second",
}
FIGURES = ("latent_tsne.png", "reconstructions.png", "lesion_fraction_hist.png")


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    return str(tmp_path_factory.mktemp("medmonai_cache"))


def test_check_properties_is_empty(tmp_path, cache):
    wf = workflow("train.yaml", tmp_path, BUNDLE, cache_dir=cache, n_embedded_cases=4)
    wf.initialize()
    assert wf.check_properties() == []


@pytest.mark.parametrize("patch_dims", [2, 3])
def test_train_and_inference_on_the_embedded_default(tmp_path, cache, patch_dims):
    overrides = {"cache_dir": cache, "patch_dims": patch_dims}
    run_workflow("train.yaml", tmp_path, BUNDLE, **TINY, **overrides)
    run_workflow("inference.yaml", tmp_path, BUNDLE, n_embedded_cases=4, **overrides)
    infer = ["train.yaml", "inference.yaml"]  # the infer properties, once there are weights to load
    assert missing_properties(BUNDLE, infer, "infer", tmp_path, n_embedded_cases=4, **overrides) == []
    metrics = json.loads((tmp_path / "metrics.json").read_text(encoding="utf-8"))
    assert REQUIRED <= set(metrics)
    assert all(isinstance(v, (int, float)) and math.isfinite(v) for v in metrics.values()), metrics
    assert metrics["n_patches_test"] == metrics["n_images"] > metrics["n_lesion_patches_test"] > 0
    for name in FIGURES:
        image = matplotlib.image.imread(tmp_path / name)
        assert image.shape[0] > 100 and image[..., :3].std() > 0.05, name


def test_split_is_by_case(cache):
    from medmonai.apps.isles_patches import isles_patch_splits

    splits = isles_patch_splits("", cache_dir=cache, n_embedded_cases=4)
    cases = {name: {p["case_id"] for p in patches} for name, patches in splits.items()}
    assert not cases["train"] & cases["test"] and not cases["train"] & cases["val"] and not cases["val"] & cases["test"]
    assert sum(len(c) for c in cases.values()) == 4


def _no_dwi(root):
    write_case(root, 1)
    write_case(root, 2, modalities=("Flair", "T1", "T2"))
    write_case(root, 3)
    return "2: no MR_DWI image"


def _mask_shape(root):
    write_case(root, 1, mask_size=(12, 10, 9))
    return "size (12, 10, 9) differs"


def _truncated_mha(root):
    case = write_case(root, 1)
    dwi = next(case.glob("*MR_DWI*/*.mha"))
    dwi.write_bytes(dwi.read_bytes()[:-100])
    return "truncated voxel data"


def _missing_raw(root):
    case = write_case(root, 1)
    dwi = next(case.glob("*MR_DWI*/*.mha"))
    dwi.write_bytes(dwi.read_bytes().split(b"ElementDataFile")[0] + b"ElementDataFile = dwi.raw\n")
    return "its raw data file dwi.raw is missing"


def _empty(root):
    root.mkdir(parents=True)
    return "no case folders"


def _nan_volume(root):
    for case in (1, 2, 3):
        dwi = next(write_case(root, case).glob("*MR_DWI*/*.mha"))
        image = sitk.GetImageFromArray(np.full((8, 10, 12), np.nan, np.float32))
        image.SetSpacing((1.0, 1.0, 2.0))  # same geometry as the rest of the case
        sitk.WriteImage(image, str(dwi))
    return ".mha: volume is all NaN"  # named by its file


def _constant_volume(root):
    for case in (1, 2, 3):
        write_case(root, case)  # every voxel 100
    return ".mha: volume is constant (100)"


def _four_d(root):
    case = write_case(root, 1)
    dwi = next(case.glob("*MR_DWI*/*.mha"))
    volume = sitk.GetImageFromArray(np.ones((8, 10, 12), np.float32))
    volume.SetSpacing((1.0, 1.0, 2.0))
    sitk.WriteImage(sitk.JoinSeries([volume, volume]), str(dwi))
    return "expected a 3-D volume, got 4-D"


BAD = [_no_dwi, _mask_shape, _truncated_mha, _missing_raw, _empty, _nan_volume, _constant_volume, _four_d]


@pytest.mark.parametrize("make", BAD, ids=[f.__name__.strip("_") for f in BAD])
def test_bad_input_fails_before_any_output(tmp_path, make):
    root = tmp_path / "SISS2015_Training"
    message = make(root)
    out = tmp_path / "out"
    wf = workflow("train.yaml", out, BUNDLE, dataset_dir=str(root), patch_size=4, min_foreground_fraction=0.0)
    with pytest.raises(Exception) as raised:
        wf.initialize()
    error = find_user_error(raised.value)
    assert error is not None and message in str(error), raised.value
    assert "\n" not in str(error) and not out.exists()
