"""The embedded 2-D brain default: multi-contrast axial slices of phantom subjects, with test lesions."""

import csv
import json
import time

import numpy as np
import pytest
import torch
from PIL import Image
from scipy import ndimage

from medmonai.data import embedded_brain_slices, image_set
from medmonai.errors import ConfigError
from medmonai.transforms import LoadImageChannelsd

SMALL = dict(image_size=32, n_train=20, n_val=10, n_test_healthy=10, n_test_lesion=12)


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    cache = tmp_path_factory.mktemp("cache")
    start = time.perf_counter()
    folder = embedded_brain_slices(cache, **SMALL)
    return folder, time.perf_counter() - start


def rows(folder, split):
    with (folder / f"{split}.csv").open(newline="") as f:
        return list(csv.DictReader(f))


def pixels(folder, path):
    return np.asarray(Image.open(folder / path))


def test_layout_counts_and_quick_generation(made):
    folder, seconds = made
    assert seconds < 30  # a handful of subjects (2 training, 1 validation, 1 healthy and 2 lesion test ones)
    assert folder.name.startswith("brain_slices_") and folder.name.endswith("_s32_t20_v10_h10_l12_t1-t2_seed0")
    assert list(rows(folder, "train")[0]) == ["subject_id", "t1", "t2", "label", "mask"]
    test = rows(folder, "test")
    assert [len(rows(folder, s)) for s in ("train", "val")] == [20, 10]
    assert sorted(r["label"] for r in test) == ["0"] * 10 + ["1"] * 12
    dataset = json.loads((folder / "dataset.json").read_text(encoding="utf-8"))
    assert dataset["synthetic"] is True and dataset["contrasts"] == ["t1", "t2"]
    for split, section in (("train", "training"), ("val", "validation"), ("test", "test")):
        listed = [(i["image"], i["subject_id"], str(i["label"]), i["mask"]) for i in dataset[section]]
        assert listed == [([r["t1"], r["t2"]], r["subject_id"], r["label"], r["mask"]) for r in rows(folder, split)]
    first = rows(folder, "train")[0]
    assert pixels(folder, first["t1"]).shape == (32, 32) and pixels(folder, first["t1"]).dtype == np.uint8


def test_subjects_lie_in_one_split_only(made):
    folder, _ = made
    subjects = {split: {r["subject_id"] for r in rows(folder, split)} for split in ("train", "val", "test")}
    assert len(subjects["train"]) == 2 and len(subjects["val"]) == 1  # ~10 slices per subject
    assert not subjects["train"] & subjects["val"] and not subjects["train"] & subjects["test"]
    assert not subjects["val"] & subjects["test"]
    recorded = json.loads((folder / "subjects.json").read_text(encoding="utf-8"))["subjects"]
    assert {s["subject_id"]: s["split"] for s in recorded} == {
        name: split for split, names in subjects.items() for name in names
    }


def test_every_lesion_mask_is_non_empty_inside_the_brain_and_on_its_lesion(made):
    folder, _ = made
    kinds = {s["subject_id"]: s["kind"] for s in json.loads((folder / "subjects.json").read_text("utf-8"))["subjects"]}
    assert list(kinds.values()).count("healthy") == 4 and "hyperintense" in kinds.values()
    bright = 0
    for row in rows(folder, "test"):
        if row["label"] == "0":
            assert row["mask"] == "" and kinds[row["subject_id"]] == "healthy"
            continue
        mask, t1 = pixels(folder, row["mask"]), pixels(folder, row["t1"])
        brain = (t1 > 0) | (pixels(folder, row["t2"]) > 0)
        assert set(np.unique(mask)) == {0, 255} and mask.shape == brain.shape
        assert np.all(ndimage.binary_fill_holes(brain)[mask > 0])  # within the brain, not only within the image
        if kinds[row["subject_id"]] == "hyperintense":  # the mask lies on the lesion: brighter than the brain
            assert t1[mask > 0].max() > np.percentile(t1[brain & (mask == 0)], 99)
            bright += 1
    assert bright >= 5


def test_the_channels_of_a_row_show_one_anatomy(made):
    folder, _ = made
    listed = rows(folder, "train") + rows(folder, "test")

    def correlation(t1, t2):
        inside = ndimage.binary_erosion((t1 > 0) & (t2 > 0), iterations=2)
        return np.corrcoef(t1[inside], t2[inside])[0, 1]

    aligned, mismatched = [], []
    for i, row in enumerate(listed):
        t1, t2 = (pixels(folder, row[c]).astype(float) for c in ("t1", "t2"))
        assert ((t1 > 0) & (t2 > 0)).sum() / ((t1 > 0) | (t2 > 0)).sum() > 0.9  # brain masks overlap
        aligned.append(correlation(t1, t2))
        other = listed[(i + 15) % len(listed)]  # another subject's T2
        mismatched.append(correlation(t1, pixels(folder, other["t2"]).astype(float)))
    assert np.median(aligned) < -0.8  # T1 white matter bright where T2's is dark, voxel for voxel
    assert np.median(mismatched) > -0.6  # the control: another anatomy does not line up


def test_cached_and_read_by_the_image_set_reader(made):
    folder, _ = made
    stamps = {p: p.stat().st_mtime_ns for p in (folder / "dataset.json", folder / "train.csv")}
    start = time.perf_counter()
    assert embedded_brain_slices(folder.parent, **SMALL) == folder
    assert time.perf_counter() - start < 1.0
    assert {p: p.stat().st_mtime_ns for p in stamps} == stamps  # nothing rewritten
    items = image_set(folder / "test.csv", (32, 32), channels=("t1", "t2"), resize=False)
    assert len(items) == 22 and {i["label"] for i in items} == {0, 1}
    lesion = next(i for i in items if i["label"] == 1)
    assert lesion["mask"].startswith(str(folder)) and lesion["slice"] == -1
    image = LoadImageChannelsd(image_shape=(32, 32), resize=False)(lesion)["image"]
    assert image.shape == (2, 32, 32) and image.dtype == torch.float32
    assert float(image.min()) == -1.0 and float(image.max()) <= 1.0


def test_rejects_bad_settings(tmp_path):
    with pytest.raises(ConfigError, match=r"contrasts must be distinct names among"):
        embedded_brain_slices(tmp_path, contrasts=("t1", "pd"))
    with pytest.raises(ConfigError, match=r"slice counts must be >= 1"):
        embedded_brain_slices(tmp_path, n_val=0)
    assert not list(tmp_path.iterdir())  # refused before anything is written
