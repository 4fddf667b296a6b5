import json

import nibabel as nib
import numpy as np
import pytest

from medmonai.data import LESION_KINDS, brain_mri_datalists, embedded_brains
from medmonai.errors import ConfigError

SMALL = dict(n_train=2, n_val=1, n_test_lesion=4, n_test_healthy=1)


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    return embedded_brains(tmp_path_factory.mktemp("cache"), **SMALL)


def test_layout_and_kinds(dataset):
    content = json.loads(dataset.read_text())
    assert [len(content[k]) for k in ("training", "validation", "test")] == [2, 1, 5]
    kinds = [item["kind"] for item in content["test"]]
    assert kinds == ["hyperintense", "hypointense", "texture", "mass_effect", "healthy"]
    lesions = json.loads((dataset.parent / "lesions.json").read_text())
    assert [c["kind"] for c in lesions["cases"]] == kinds
    for item, kind in zip(content["test"], kinds, strict=True):
        label = np.asarray(nib.load(dataset.parent / item["label"]).dataobj)
        brain = np.asarray(nib.load(dataset.parent / item["brain_mask"]).dataobj) > 0
        codes = set(np.unique(label)) - {0}
        expected = {k for k, v in LESION_KINDS.items() if v == kind}
        assert codes == expected  # label codes record the kind; healthy volumes have none
        assert not np.any(label[~brain])  # lesions lie inside the brain


def test_volumes_share_the_template_grid_and_differ_by_subject(dataset):
    content = json.loads(dataset.read_text())
    a, b = (nib.load(dataset.parent / item["image"]) for item in content["training"])
    assert a.shape == (99, 117, 95) and np.allclose(a.affine, b.affine)
    assert np.abs(np.asarray(a.dataobj, float) - np.asarray(b.dataobj, float)).mean() > 10  # different subjects


def test_hyperintense_lesions_are_brighter_than_the_brain(dataset):
    item = json.loads(dataset.read_text())["test"][0]
    image = np.asarray(nib.load(dataset.parent / item["image"]).dataobj, float)
    label = np.asarray(nib.load(dataset.parent / item["label"]).dataobj) > 0
    brain = np.asarray(nib.load(dataset.parent / item["brain_mask"]).dataobj) > 0
    assert np.median(image[label]) > np.percentile(image[brain & ~label], 95)


def test_cached_and_read_by_the_source_builder(dataset):
    assert embedded_brains(dataset.parent.parent, **SMALL) == dataset  # no regeneration
    lists = brain_mri_datalists(embedded={"cache_dir": dataset.parent.parent, **SMALL})
    assert [len(lists[k]) for k in ("train", "val", "test")] == [2, 1, 5]
    assert lists["test"][0]["case_id"] == "lesion_000_t1"


def test_rejects_bad_counts(tmp_path):
    with pytest.raises(ConfigError, match="volume counts must be >= 1"):
        embedded_brains(tmp_path, n_val=0)
