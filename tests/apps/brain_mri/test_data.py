"""The brain-MRI datalists: sources in order of precedence, every case checked up front, brain extraction on demand."""

import json
import shutil

import nibabel as nib
import numpy as np
import pytest

from medmonai.apps.brain_mri import brain_mri_datalists
from medmonai.errors import DataError
from tests.data.test_isles import write_case
from tests.transforms.test_brain_masks import write_skull_on_head

AFFINE = np.diag([2.0, 2.0, 2.0, 1.0])


def write_volume(path, shape=(12, 10, 8), affine=AFFINE, value=None):
    data = np.random.default_rng(0).random(shape).astype(np.float32) if value is None else value
    nib.save(nib.Nifti1Image(data, affine), str(path))
    return str(path)


def write_split(root, n, label=False, **kwargs):
    items = []
    for i in range(n):
        item = {"image": write_volume(root / f"{root.name}{i}.nii.gz", **kwargs)}
        item["brain_mask"] = write_volume(root / f"{root.name}{i}_mask.nii.gz", value=np.ones((12, 10, 8), np.uint8))
        if label:
            item["label"] = write_volume(root / f"{root.name}{i}_label.nii.gz", value=np.zeros((12, 10, 8), np.uint8))
        items.append(item)
    return items


@pytest.fixture
def splits(tmp_path):
    for name in ("tr", "va", "te"):
        (tmp_path / name).mkdir()
    return {
        "training": write_split(tmp_path / "tr", 2),
        "validation": write_split(tmp_path / "va", 1),
        "test": write_split(tmp_path / "te", 2, label=True),
    }


def test_one_datalist_with_three_sections(tmp_path, splits):
    (tmp_path / "d.json").write_text(json.dumps(splits))
    out = brain_mri_datalists(datalist=str(tmp_path / "d.json"))
    assert [len(out[k]) for k in ("train", "val", "test")] == [2, 1, 2]
    assert out["test"][1]["case_id"] == "te1"


def test_per_split_csv_and_isles_test_source(tmp_path, splits):
    for split, key in (("train", "training"), ("val", "validation")):
        rows = "\n".join(f"{i['image']},{i['brain_mask']}" for i in splits[key])
        (tmp_path / f"{split}.csv").write_text(f"image,brain_mask\n{rows}\n")
    isles = tmp_path / "SISS2015_Training"
    write_case(isles, 1, ".nii.gz")
    out = brain_mri_datalists(
        train_datalist=str(tmp_path / "train.csv"), val_datalist=str(tmp_path / "val.csv"), isles_dir=str(isles)
    )
    assert out["test"][0]["case_id"] == "isles_1" and "MR_DWI" in out["test"][0]["image"]
    assert "brain_mask" not in out["test"][0]  # derived from the nonzero region when loading


def test_test_items_need_a_label(tmp_path, splits):
    (tmp_path / "t.json").write_text(json.dumps([{"image": splits["test"][0]["image"]}]))
    (tmp_path / "d.json").write_text(json.dumps(splits))
    with pytest.raises(DataError, match=r"t\.json: item 0 lacks \['label'\]"):
        brain_mri_datalists(datalist=str(tmp_path / "d.json"), test_datalist=str(tmp_path / "t.json"))


@pytest.mark.parametrize(
    "change, match",
    [
        (dict(shape=(12, 10, 9)), r"te0_label\.nii\.gz: size \(12, 10, 9\) differs from te0\.nii\.gz \(12, 10, 8\)"),
        (dict(affine=np.diag([2.0, 2.0, 2.1, 1.0])), r"te0_label\.nii\.gz: affine differs from te0\.nii\.gz beyond"),
    ],
)
def test_image_and_mask_must_share_a_grid(tmp_path, splits, change, match):
    shape = change.get("shape", (12, 10, 8))
    label = np.zeros(shape, np.uint8)
    write_volume(tmp_path / "te" / "te0_label.nii.gz", value=label, affine=change.get("affine", AFFINE))
    (tmp_path / "d.json").write_text(json.dumps(splits))
    with pytest.raises(DataError, match=match):
        brain_mri_datalists(datalist=str(tmp_path / "d.json"))


@pytest.mark.parametrize("shape", [(12, 10), (12, 10, 8, 2)])
def test_volumes_must_be_3d(tmp_path, splits, shape):
    write_volume(tmp_path / "va" / "va0.nii.gz", shape=shape)
    (tmp_path / "d.json").write_text(json.dumps(splits))
    with pytest.raises(DataError, match=rf"va0\.nii\.gz: expected a 3-D volume, got {len(shape)}-D"):
        brain_mri_datalists(datalist=str(tmp_path / "d.json"))


@pytest.fixture(scope="module")
def skull_on(tmp_path_factory):
    return write_skull_on_head(tmp_path_factory.mktemp("heads"))


def test_the_readers_extract_brains_when_asked_and_fail_up_front_on_a_tiny_volume(skull_on, tmp_path):
    path, _ = skull_on
    head = nib.load(path)
    label = tmp_path / "label.nii.gz"
    nib.save(nib.Nifti1Image(np.zeros(head.shape, np.uint8), head.affine), label)
    lists_files = {}
    for split in ("train", "val", "test"):  # one head per split (copies: splits must not share a volume)
        copy = tmp_path / f"{split}_head.nii.gz"
        shutil.copy(path, copy)
        lists_files[split] = tmp_path / f"{split}.json"
        lists_files[split].write_text(json.dumps([{"image": str(copy), "label": str(label)}]))
    lists = brain_mri_datalists(
        train_datalist=str(lists_files["train"]),
        val_datalist=str(lists_files["val"]),
        test_datalist=str(lists_files["test"]),
        brain_extraction=True,
        brain_extractor="registration",
        embedded={"cache_dir": str(tmp_path)},
    )
    assert all(item["brain_mask"].endswith("_brain.nii.gz") for split in lists.values() for item in split)
    tiny = tmp_path / "tiny.nii.gz"
    nib.save(nib.Nifti1Image(np.ones((8, 40, 40), np.float32), np.diag([2.0, 2, 2, 1])), tiny)
    datalist = lists_files["train"]
    datalist.write_text(json.dumps([{"image": str(tiny)}]))
    with pytest.raises(DataError, match=r"tiny.nii.gz: .*too small to register"):
        brain_mri_datalists(
            train_datalist=str(datalist),
            val_datalist=str(lists_files["val"]),
            test_datalist=str(lists_files["test"]),
            brain_extraction=True,
            brain_extractor="registration",
            embedded={"cache_dir": str(tmp_path)},
        )
