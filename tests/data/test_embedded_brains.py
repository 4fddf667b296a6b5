import json

import nibabel as nib
import numpy as np
import pytest

from medmonai.apps.brain_mri import brain_mri_datalists
from medmonai.data import LESION_KINDS, embedded_brains
from medmonai.data.synthetic.embedded_brains import HELDOUT_STRENGTH, TRAIN_CONTRASTS, TRAIN_STRENGTH
from medmonai.errors import ConfigError

SMALL = dict(n_train=2, n_val=1, n_test_lesion=4, n_test_healthy=1)


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    return embedded_brains(tmp_path_factory.mktemp("cache"), **SMALL)


def test_layout_and_kinds(dataset):
    content = json.loads(dataset.read_text(encoding="utf-8"))
    assert [len(content[k]) for k in ("training", "validation", "test")] == [2, 1, 5]
    kinds = [item["kind"] for item in content["test"]]
    assert kinds == ["hyperintense", "hypointense", "texture", "mass_effect", "healthy"]
    lesions = json.loads((dataset.parent / "lesions.json").read_text(encoding="utf-8"))
    assert [c["kind"] for c in lesions["cases"]] == kinds
    for item, kind in zip(content["test"], kinds, strict=True):
        label = np.asarray(nib.load(dataset.parent / item["label"]).dataobj)
        brain = np.asarray(nib.load(dataset.parent / item["brain_mask"]).dataobj) > 0
        codes = set(np.unique(label)) - {0}
        expected = {k for k, v in LESION_KINDS.items() if v == kind}
        assert codes == expected  # label codes record the kind; healthy volumes have none
        assert not np.any(label[~brain])  # lesions lie inside the brain


def test_volumes_share_the_template_grid_and_differ_by_subject(dataset):
    content = json.loads(dataset.read_text(encoding="utf-8"))
    a, b = (nib.load(dataset.parent / item["image"]) for item in content["training"])
    assert a.shape == (99, 117, 95) and np.allclose(a.affine, b.affine)
    assert np.abs(np.asarray(a.dataobj, float) - np.asarray(b.dataobj, float)).mean() > 10  # different subjects


def test_hyperintense_lesions_are_brighter_than_the_brain(dataset):
    item = json.loads(dataset.read_text(encoding="utf-8"))["test"][0]
    image = np.asarray(nib.load(dataset.parent / item["image"]).dataobj, float)
    label = np.asarray(nib.load(dataset.parent / item["label"]).dataobj) > 0
    brain = np.asarray(nib.load(dataset.parent / item["brain_mask"]).dataobj) > 0
    assert np.median(image[label]) > np.percentile(image[brain & ~label], 95)


def test_cached_and_read_by_the_source_builder(dataset):
    assert embedded_brains(dataset.parent.parent, **SMALL) == dataset  # no regeneration
    lists = brain_mri_datalists(embedded={"cache_dir": dataset.parent.parent, **SMALL})
    assert [len(lists[k]) for k in ("train", "val", "test")] == [2, 1, 5]
    assert lists["test"][0]["case_id"] == "lesion_000_t1"


def test_validation_and_test_subjects_lie_outside_the_training_settings(dataset):
    recorded = json.loads((dataset.parent / "subjects.json").read_text(encoding="utf-8"))
    subjects = recorded["subjects"]
    train = [s for s in subjects if s["split"] == "train"]
    held_out = [s for s in subjects if s["split"] in ("val", "test")]
    assert (len(train), len(held_out)) == (2, 6)
    for s in train:  # label-synthesised texture, random contrast family, moderate deformation
        assert s["source"] == "labels" and s["contrast"] in TRAIN_CONTRASTS
        assert TRAIN_STRENGTH[0] <= s["strength"] <= TRAIN_STRENGTH[1]
    for s in held_out:  # the template's real T1 texture, deformed beyond anything in training
        assert s["source"] == "template" and s["contrast"] == "t1"
        assert s["strength"] >= HELDOUT_STRENGTH[0] >= 1.6 * TRAIN_STRENGTH[1]
    assert {s["source"] for s in train}.isdisjoint(s["source"] for s in held_out)
    assert recorded["ranges"]["training"]["strength"] == list(TRAIN_STRENGTH)
    assert all(s["scanner"]["scale"] > 0 for s in subjects)  # scanner effects recorded for every volume


def test_deterministic_per_seed(dataset, tmp_path):
    again = embedded_brains(tmp_path, n_train=1, n_val=1, n_test_lesion=1, n_test_healthy=1)
    first = json.loads(dataset.read_text(encoding="utf-8"))["training"][0]
    repeat = json.loads(again.read_text(encoding="utf-8"))["training"][0]
    for key, dtype in (("image", np.int16), ("brain_mask", np.uint8)):  # same seed and subject index: same volume
        a = np.asarray(nib.load(dataset.parent / first[key]).dataobj)
        b = np.asarray(nib.load(again.parent / repeat[key]).dataobj)
        assert a.dtype == dtype
        np.testing.assert_array_equal(a, b)


def test_rejects_bad_counts(tmp_path):
    with pytest.raises(ConfigError, match="volume counts must be >= 1"):
        embedded_brains(tmp_path, n_val=0)


def test_the_cache_name_follows_the_generators_code(tmp_path):
    from medmonai.data.synthetic.template import generator_version

    version = generator_version()
    assert len(version) == 8 and int(version, 16) >= 0
    dataset = embedded_brains(tmp_path, n_train=1, n_val=1, n_test_lesion=1, n_test_healthy=1)
    assert dataset.parent.name.startswith(f"brains_{version}_")
