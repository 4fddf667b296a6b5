import json

import numpy as np
import pytest
import SimpleITK as sitk

from medmonai.data import isles_datalist
from medmonai.data.synthetic.embedded_isles import embedded_siss
from medmonai.errors import ConfigError


@pytest.fixture(scope="module")
def siss_root(tmp_path_factory):
    return embedded_siss(tmp_path_factory.mktemp("cache"), n_cases=3, seed=5)


def _array(path):
    return sitk.GetArrayFromImage(sitk.ReadImage(path))


def test_written_in_the_real_layout_and_both_formats(siss_root, no_network):
    datalist = isles_datalist(siss_root, modalities=("dwi", "flair", "t1", "t2"))  # the real reader, validated
    assert [d["case_id"] for d in datalist] == ["1", "2", "3"]
    assert datalist[0]["dwi"].endswith(".nii.gz") and datalist[1]["dwi"].endswith(".mha")
    manifest = json.loads((siss_root.parent / "cases.json").read_text(encoding="utf-8"))
    assert [c["case_id"] for c in manifest["cases"]] == ["1", "2", "3"]
    assert all(1 <= len(c["lesions"]) <= 3 and c["lesion_voxels"] > 0 for c in manifest["cases"])


def test_lesions_are_dwi_hyperintense_and_inside_the_brain(siss_root):
    for case in isles_datalist(siss_root, modalities=("dwi", "t1")):
        dwi, t1, lesion = _array(case["dwi"]), _array(case["t1"]), _array(case["label"]) > 0
        assert dwi.shape == lesion.shape == (95, 117, 99)  # MNI152 at 2 mm, as (z, y, x)
        brain = dwi > 0.05 * dwi.max()
        assert lesion.sum() > 10 and (lesion & ~brain).sum() < 0.05 * lesion.sum()
        healthy = brain & ~lesion
        assert dwi[lesion].mean() > 1.5 * dwi[healthy].mean()
        assert t1[lesion].mean() < t1[healthy].mean()


def test_cached_and_deterministic(siss_root, tmp_path):
    mask = isles_datalist(siss_root)[0]["label"]
    stamp = (siss_root / "1").stat().st_mtime_ns
    assert embedded_siss(siss_root.parent.parent, n_cases=3, seed=5) == siss_root
    assert (siss_root / "1").stat().st_mtime_ns == stamp  # reused, not rewritten
    again = embedded_siss(tmp_path, n_cases=3, seed=5)
    np.testing.assert_array_equal(_array(isles_datalist(again)[0]["label"]), _array(mask))
    assert not list(tmp_path.glob(".siss-*"))  # no staging folder left behind


def test_bad_arguments(tmp_path):
    with pytest.raises(ConfigError, match="n_cases must be >= 2 and resolution 1 or 2"):
        embedded_siss(tmp_path, n_cases=1)
