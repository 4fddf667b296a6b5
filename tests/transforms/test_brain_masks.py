"""Brain masks for skull-on volumes: extracted once per file, cached, refused when they are not a brain."""

from __future__ import annotations

import re

import nibabel as nib
import numpy as np
import pytest

from medmonai.data.synthetic.template import load_template
from medmonai.errors import ConfigError, DataError
from medmonai.transforms import add_brain_masks
from tests.conftest import dice
from tests.transforms.test_brain import with_skull


def write_skull_on_head(folder):
    """The 2 mm template with a fake skull and scalp, shifted by a few voxels, saved as NIfTI without a mask."""
    t1, mask, affine = load_template(2)
    head, truth = np.roll(with_skull(t1, mask > 0.5), 3, axis=1), np.roll(mask > 0.5, 3, axis=1)
    nib.save(nib.Nifti1Image(head.astype(np.float32), affine), folder / "head.nii.gz")
    return folder / "head.nii.gz", truth


@pytest.fixture(scope="module")
def skull_on(tmp_path_factory):
    return write_skull_on_head(tmp_path_factory.mktemp("heads"))


@pytest.mark.parametrize("method", ["registration", "network"])
def test_a_skull_on_volume_gets_a_mask_on_its_own_grid_once(skull_on, tmp_path, method):
    path, truth = skull_on
    items = add_brain_masks([{"image": str(path)}], cache_dir=tmp_path, method=method)
    written = nib.load(items[0]["brain_mask"])
    assert np.allclose(written.affine, nib.load(path).affine) and written.shape == truth.shape
    assert dice(written.get_fdata() > 0.5, truth) >= (0.95 if method == "registration" else 0.9)
    before = (tmp_path / "brain_masks").stat().st_mtime_ns, written.get_filename()
    again = add_brain_masks([{"image": str(path)}], cache_dir=tmp_path, method=method)
    assert again[0]["brain_mask"] == before[1] and (tmp_path / "brain_masks").stat().st_mtime_ns == before[0]


def test_items_with_a_mask_are_left_alone(tmp_path):
    items = [{"image": "/nowhere/a.nii.gz", "brain_mask": "/nowhere/a_brain.nii.gz"}]
    assert add_brain_masks([dict(i) for i in items], cache_dir=tmp_path) == items
    assert not (tmp_path / "brain_masks").exists()


def test_an_unknown_extractor_is_refused(tmp_path):
    with pytest.raises(ConfigError, match="brain_extractor must be one of network, registration, got 'bet'"):
        add_brain_masks([{"image": str(tmp_path / "a.nii.gz")}], cache_dir=tmp_path, method="bet")


def test_a_failed_extraction_is_recorded_and_the_other_scans_go_on(skull_on, tmp_path):
    path, _ = skull_on
    noise = tmp_path / "noise.nii.gz"  # no head: the network finds no brain of plausible size
    rng = np.random.default_rng(0)
    nib.save(nib.Nifti1Image(rng.random((60, 60, 60)).astype(np.float32), np.diag([2.0, 2, 2, 1])), noise)
    failures = []
    items = add_brain_masks([{"image": str(noise)}, {"image": str(path)}], cache_dir=tmp_path, failures=failures)
    assert [i["image"] for i in items] == [str(path)] and items[0]["brain_mask"]
    assert [f["image"] for f in failures] == [str(noise)]
    assert re.match(r".*noise\.nii\.gz: brain extraction failed \(.*\); supply a mask", failures[0]["reason"])
    with pytest.raises(DataError, match=r"noise\.nii\.gz: brain extraction failed"):
        add_brain_masks([{"image": str(noise)}], cache_dir=tmp_path)


def _ball(shape=(60, 60, 60), radius_vox=10.0):
    grid = np.indices(shape) - np.array(shape).reshape(3, 1, 1, 1) / 2
    return (np.sqrt((grid**2).sum(0)) < radius_vox).astype(np.float32) * 100


@pytest.mark.parametrize(
    "name, volume, why",
    [
        ("ball", _ball(), r"\d+% of the mask is background"),  # the network calls a bright ball brain
        ("noise", np.random.default_rng(0).random((60, 60, 60)).astype(np.float32), r"as bright as its surround"),
        ("zeros", np.zeros((60, 60, 60), np.float32), r"the volume is constant"),
    ],
)
def test_the_network_refuses_a_mask_that_is_not_a_brain_in_a_head(name, volume, why):
    from medmonai.transforms.brain.network import NetworkBrainExtractor

    with pytest.raises(DataError, match=rf"^{name}: brain extraction failed \(.*{why}.*; supply a mask"):
        NetworkBrainExtractor()(volume, np.diag([2.0, 2, 2, 1]), source=name)
