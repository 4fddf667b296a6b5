import json

import pytest

from medmonai.data import read_datalist
from medmonai.errors import DataError


@pytest.fixture
def files(tmp_path):
    for name in ("a.nii.gz", "a_brain.nii.gz", "b.nii.gz"):
        (tmp_path / "vols" / name).parent.mkdir(exist_ok=True)
        (tmp_path / "vols" / name).write_bytes(b"x")
    return tmp_path


def test_decathlon_json_with_relative_paths(files):
    manifest = files / "dataset.json"
    items = [{"image": "vols/a.nii.gz", "brain_mask": "vols/a_brain.nii.gz"}, {"image": str(files / "vols/b.nii.gz")}]
    manifest.write_text(json.dumps({"training": items, "test": []}))
    out = read_datalist(manifest, section="training")
    assert out == [
        {"image": str(files / "vols/a.nii.gz"), "brain_mask": str(files / "vols/a_brain.nii.gz")},
        {"image": str(files / "vols/b.nii.gz")},
    ]


def test_csv_with_optional_columns(files):
    manifest = files / "train.csv"
    manifest.write_text("image,brain_mask\nvols/a.nii.gz,vols/a_brain.nii.gz\nvols/b.nii.gz,\n")
    out = read_datalist(manifest)
    assert out[0]["brain_mask"].endswith("a_brain.nii.gz") and "brain_mask" not in out[1]


@pytest.mark.parametrize(
    "content, section, match",
    [
        ("{not json", "training", r"dataset\.json: malformed JSON"),  # broken syntax
        ('{"training": []}', "training", r"dataset\.json: section 'training' lists no items"),  # empty
        ('{"validation": [{"image": "vols/a.nii.gz"}]}', "training", r"no section 'training'; its lists are"),
        ('{"training": [{"label": "vols/a.nii.gz"}]}', "training", r"item 0 lacks \['image'\]"),
        ('{"training": [{"image": "vols/missing.nii.gz"}]}', "training", r"missing\.nii\.gz: listed in .* but missing"),
        ('"just a string"', "training", "expected a JSON object or list"),
    ],
)
def test_bad_json_manifests(files, content, section, match):
    manifest = files / "dataset.json"
    manifest.write_text(content)
    with pytest.raises(DataError, match=match):
        read_datalist(manifest, section=section)


def test_missing_manifest_and_empty_csv(files):
    with pytest.raises(DataError, match=r"nope\.json: datalist file not found"):
        read_datalist(files / "nope.json")
    (files / "empty.csv").write_text("image,brain_mask\n")
    with pytest.raises(DataError, match=r"empty\.csv: lists no items"):
        read_datalist(files / "empty.csv")
