"""The medical_gan data sources that other bundles read: a MedMNIST ``.npz`` and a Kermany ``OCT2017`` folder.

Each is checked through :func:`medmonai.apps.gan.gan_datalists` (splits, labels, normal-only training) and the
bundle's loading transform, and a MedMNIST file trains the real ``train.yaml`` (DCGAN, 16x16) and scores its own
labelled test split with ``evaluate.yaml``.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from medmonai.apps.gan import gan_datalists, labelled_test_set
from medmonai.errors import ConfigError, DataError
from medmonai.transforms import LoadImageChannelsd
from tests.bundles.helpers import run_configs
from tests.conftest import REPO
from tests.data.test_kermany import write_oct_tree
from tests.data.test_medmnist import write_npz

BUNDLE = REPO / "bundles" / "medical_gan" / "configs"


def octmnist_labels() -> dict[str, np.ndarray]:
    """OCTMNIST's four classes (0 CNV, 1 DME, 2 drusen, 3 normal) cycling over write_npz's 50/10/20 images."""
    labels = (np.arange(80) % 4)[:, None].astype(np.uint8)
    return {"train_labels": labels[:50], "val_labels": labels[50:60], "test_labels": labels[60:]}


MEDMNIST_CASES = {
    # PneumoniaMNIST: 0 normal, 1 pneumonia; the normal class comes from the file name
    "pneumoniamnist": dict(name="pneumoniamnist.npz", replace={}, normal_classes="auto", normal=[0]),
    # OCTMNIST: 3 normal, CNV/DME/drusen abnormal; the normal class comes from the file name
    "octmnist": dict(name="octmnist_64.npz", replace=octmnist_labels(), normal_classes="auto", normal=[3]),
    # any other MedMNIST-format file, its normal classes given
    "given": dict(name="synthetic.npz", replace=octmnist_labels(), normal_classes="1,2", normal=[1, 2]),
}


@pytest.mark.parametrize("case", MEDMNIST_CASES.values(), ids=MEDMNIST_CASES)
def test_medmnist_trains_on_its_normal_images_and_tests_on_its_whole_test_split(tmp_path, case):
    path = write_npz(tmp_path / case["name"], **case["replace"])
    lists = gan_datalists(str(path), [16, 16], cache_dir=tmp_path / "cache", normal_classes=case["normal_classes"])
    with np.load(path) as npz:
        shipped = {split: (npz[f"{split}_images"], npz[f"{split}_labels"][:, 0]) for split in ("train", "val", "test")}
    for split in ("train", "val"):  # the normal images of the file's own split, in order, and only those
        images, labels = shipped[split]
        assert [item["class"] for item in lists[split]] == [int(y) for y in labels if y in case["normal"]]
        assert {item["label"] for item in lists[split]} == {0}
    images, labels = shipped["test"]
    assert [item["class"] for item in lists["test"]] == labels.tolist()  # every test image
    assert [item["label"] for item in lists["test"]] == [int(y not in case["normal"]) for y in labels]
    assert labelled_test_set(lists) == lists["test"]  # evaluate.yaml takes it without a test_manifest
    subjects = [item["subject_id"] for split in ("train", "val", "test") for item in lists[split]]
    assert len(set(subjects)) == len(subjects)
    # the loading transform reads each image back exactly (scaled to [-1, 1]), and resizes it to image_shape
    native = LoadImageChannelsd("image", image_shape=[28, 28], resize=False)
    first_normal = int(np.flatnonzero(np.isin(shipped["train"][1], case["normal"]))[0])
    expected = shipped["train"][0][first_normal].astype(np.float32) / 255.0 * 2.0 - 1.0
    np.testing.assert_allclose(native(lists["train"][0])["image"][0].numpy(), expected, atol=1e-6)
    loaded = LoadImageChannelsd("image", image_shape=[16, 16])(lists["test"][-1])["image"]
    assert loaded.shape == (1, 16, 16) and loaded.dtype == torch.float32
    assert -1.0 <= float(loaded.min()) < float(loaded.max()) <= 1.0


def test_medmnist_pngs_are_written_once_per_file_content(tmp_path):
    path = write_npz(tmp_path / "pneumoniamnist.npz")
    first = gan_datalists(str(path), [16, 16], cache_dir=tmp_path / "cache")
    png = Path(first["train"][0]["image"][0])
    with Image.open(png) as written:
        assert written.mode == "L" and written.size == (28, 28)  # lossless 8-bit, at the file's size
    stamp = png.stat().st_mtime_ns
    again = gan_datalists(str(path), [16, 16], cache_dir=tmp_path / "cache")
    assert again == first and png.stat().st_mtime_ns == stamp  # reused, not rewritten
    changed = write_npz(tmp_path / "pneumoniamnist.npz", test_labels=np.ones((20, 1), np.uint8))
    other = gan_datalists(str(changed), [16, 16], cache_dir=tmp_path / "cache")
    assert other["test"][0]["image"][0] != first["test"][0]["image"][0]  # new content, new folder
    assert {item["label"] for item in other["test"]} == {1}
    assert len(list((tmp_path / "cache" / "medmnist_png").iterdir())) == 2


def test_float_medmnist_images_are_kept_at_16_bits(tmp_path):
    rng = np.random.default_rng(0)
    images = rng.uniform(0.0, 1.0, (80, 28, 28)).astype(np.float32)
    splits = {"train_images": images[:50], "val_images": images[50:60], "test_images": images[60:]}
    path = write_npz(tmp_path / "pneumoniamnist.npz", **splits)
    lists = gan_datalists(str(path), [28, 28], resize=False, cache_dir=tmp_path / "cache")
    with Image.open(lists["val"][0]["image"][0]) as written:
        assert written.mode == "I;16"
    loaded = LoadImageChannelsd("image", image_shape=[28, 28], resize=False)(lists["val"][0])["image"][0]
    np.testing.assert_allclose(loaded.numpy(), images[50] * 2.0 - 1.0, atol=2.0 / 65535)  # val 0 is label 0


def test_oct2017_trains_on_normal_patients_and_tests_every_class(tmp_path):
    root = write_oct_tree(tmp_path / "OCT2017", per_class=6, patients=3)
    lists = gan_datalists(str(root), [32, 32], val_fraction=0.34, seed=0)
    assert {item["class"] for item in lists["train"] + lists["val"]} == {"NORMAL"}
    assert len(lists["train"]) + len(lists["val"]) == 6 and lists["train"] and lists["val"]
    assert not {i["subject_id"] for i in lists["train"]} & {i["subject_id"] for i in lists["val"]}  # by patient
    assert len(lists["test"]) == 24 and all(item["image"][0].startswith(str(root / "test")) for item in lists["test"])
    assert {(item["class"], item["label"]) for item in lists["test"]} == {
        ("NORMAL", 0),
        ("CNV", 1),
        ("DME", 1),
        ("DRUSEN", 1),
    }
    loaded = LoadImageChannelsd("image", image_shape=[32, 32])(lists["test"][0])["image"]
    assert loaded.shape == (1, 32, 32) and float(loaded.min()) < float(loaded.max())  # 120x160 B-scans, resized


def test_a_class_folder_and_a_test_manifest_keep_the_generic_path(tmp_path):
    root = write_oct_tree(tmp_path / "OCT2017", per_class=4, patients=2)
    folder = gan_datalists(str(root / "train" / "NORMAL"), [32, 32], val_fraction=0.5)  # a plain image folder
    assert len(folder["train"]) + len(folder["val"]) == 4 and folder["test"] == []
    assert "label" not in folder["train"][0]
    manifest = tmp_path / "test.csv"
    cnv = sorted((root / "test" / "CNV").iterdir())[0]
    normal = sorted((root / "test" / "NORMAL").iterdir())[0]
    manifest.write_text(f"image,label\n{normal},0\n{cnv},1\n")
    lists = gan_datalists(str(root), [32, 32], val_fraction=0.34, test_manifest=str(manifest))
    assert [(item["image"][0], item["label"]) for item in lists["test"]] == [(str(normal), 0), (str(cnv), 1)]


BAD = {
    # no normal image in a split the GAN needs
    "no_normal_val": (
        dict(name="pneumoniamnist.npz", replace={"val_labels": np.ones((10, 1), np.uint8)}),
        {},
        DataError,
        r"pneumoniamnist\.npz: no val image of the normal classes \[0\]; its labels are \[1\]",
    ),
    # a file whose normal class cannot be told from its name
    "unknown_name": (
        dict(name="breastmnist.npz", replace={}),
        {},
        ConfigError,
        r"breastmnist\.npz: set normal_classes",
    ),
    # one channel only
    "channels": (
        dict(name="pneumoniamnist.npz", replace={}),
        {"channels": ["cc", "mlo"]},
        ConfigError,
        r"pneumoniamnist\.npz: MedMNIST and OCT2017 images have one channel",
    ),
    # images of another size while resizing is off
    "size": (
        dict(name="pneumoniamnist.npz", replace={}),
        {"resize": False},
        DataError,
        r"pneumoniamnist\.npz: images are 28x28, expected 16x16 \(set --resize true",
    ),
}


@pytest.mark.parametrize("case", BAD.values(), ids=BAD)
def test_bad_medmnist_input_is_one_line_naming_the_file(tmp_path, case):
    npz, settings, error, match = case
    path = write_npz(tmp_path / npz["name"], **npz["replace"])
    with pytest.raises(error, match=match):
        gan_datalists(str(path), [16, 16], cache_dir=tmp_path / "cache", **settings)
    assert not (tmp_path / "cache").exists()  # refused before any image is written


def test_oct2017_images_of_another_size_are_refused_without_resizing(tmp_path):
    root = write_oct_tree(tmp_path / "OCT2017", per_class=2, patients=2)
    with pytest.raises(DataError, match=r"NORMAL-\d+-\d\.jpeg: image is 120x160, expected 32x32 \(set --resize true"):
        gan_datalists(str(root), [32, 32], resize=False, val_fraction=0.5)


def test_medical_gan_trains_and_evaluates_on_a_medmnist_file(tmp_path):
    npz = write_npz(tmp_path / "pneumoniamnist.npz")  # 25 normal training images, 5 normal val, 10 + 10 test
    tiny = {"model": "dcgan", "image_shape": [16, 16], "latent_size": 16, "base_channels": 8, "batch_size": 8}
    tiny.update(epochs=2, ckpt_interval=1, log_interval=1, dataset_dir=str(npz), cache_dir=str(tmp_path / "cache"))
    out = tmp_path / "run"
    run_configs(BUNDLE, ["train.yaml"], out, **tiny)
    assert sorted(p.name for p in (out / "checkpoints").glob("checkpoint_epoch=*.pt")) == ["checkpoint_epoch=2.pt"]
    generator = torch.load(out / "model.pt", weights_only=True)
    assert all(torch.isfinite(v).all() for v in generator.values() if v.is_floating_point())
    metrics = json.loads((out / "metrics.json").read_text(encoding="utf-8"))
    assert metrics["n_real"] == 25 and np.isfinite(metrics["swd"])  # the normal training images, and only those
    run_configs(BUNDLE, ["train.yaml", "evaluate.yaml"], out, encoder_epochs=1, ae_epochs=1, **tiny)
    detection = json.loads((out / "detection_metrics.json").read_text(encoding="utf-8"))
    assert (detection["n_val"], detection["n_test_healthy"], detection["n_test_lesion"]) == (5, 10, 10)
    assert 0.0 <= detection["discriminator_ood_auroc"] <= 1.0 and 0.0 <= detection["ae_auroc"] <= 1.0


def test_medical_gan_trains_on_an_oct2017_folder(tmp_path):
    root = write_oct_tree(tmp_path / "OCT2017", per_class=12, patients=4)
    tiny = {"model": "dcgan", "image_shape": [32, 32], "latent_size": 16, "base_channels": 8, "batch_size": 4}
    tiny.update(epochs=1, ckpt_interval=1, dataset_dir=str(root), val_fraction=0.25)
    run_configs(BUNDLE, ["train.yaml"], tmp_path / "run", **tiny)
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text(encoding="utf-8"))
    assert metrics["n_real"] == 9 and np.isfinite(metrics["swd"])  # the NORMAL B-scans of 3 of the 4 patients
    assert (tmp_path / "run" / "model.pt").is_file()
