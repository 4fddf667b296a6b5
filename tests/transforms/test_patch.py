import numpy as np
import pytest

from medmonai.errors import ConfigError
from medmonai.transforms import LesionGridPatch, LesionGridPatchd


def _case():
    image = np.random.default_rng(0).random((1, 60, 57, 4)).astype(np.float32)
    label = np.zeros((1, 60, 57, 4), np.uint8)
    label[0, 30:33, 0:2, 1] = 1  # a small lesion inside patch (28, 0, 1) only
    label[0, 27:29, 40:42, 2] = 1  # a lesion straddling patches (0, 28, 2) and (28, 28, 2)
    return image, label


def test_2d_patch_count_and_lesion_patches_are_exact():
    image, label = _case()
    cut = LesionGridPatch((28, 28, 1))(image, label)
    assert cut["patches"].shape == (2 * 2 * 4, 1, 28, 28, 1)  # 60//28 x 57//28 x 4 slices
    lesion = {
        tuple(loc) for loc, f in zip(cut["location"].tolist(), cut["lesion_fraction"].tolist(), strict=True) if f > 0
    }
    assert lesion == {(28, 0, 1), (0, 28, 2), (28, 28, 2)}
    at = {tuple(loc): f for loc, f in zip(cut["location"].tolist(), cut["lesion_fraction"].tolist(), strict=True)}
    assert at[(28, 0, 1)] == pytest.approx(6 / 784)
    np.testing.assert_array_equal(cut["patches"][0, 0, :, :, 0].numpy(), image[0, :28, :28, 0])


def test_3d_patches():
    image = np.zeros((2, 56, 56, 30), np.float32)
    cut = LesionGridPatch((28, 28, 28))(image)
    assert cut["patches"].shape == (4, 2, 28, 28, 28)
    assert cut["lesion_fraction"].sum() == 0 and (cut["foreground_fraction"] == 1).all()


def test_dict_version_labels_drops_background_and_copies_case_id():
    image, label = _case()
    foreground = np.zeros_like(label)
    foreground[0, :28] = 1  # only the first row of patches is foreground
    patches = LesionGridPatchd((28, 28, 1), foreground_key="foreground", min_foreground_fraction=0.5)(
        {"image": image, "label": label, "foreground": foreground, "case_id": "12"}
    )
    assert len(patches) == 2 * 4  # x in [0, 28) for both y positions and 4 slices
    assert all(p["image"].shape == (1, 28, 28) and p["case_id"] == "12" for p in patches)
    assert [p["location"] for p in patches if p["label"]] == [[0, 28, 2]]


def test_min_lesion_fraction_threshold():
    image, label = _case()
    patches = LesionGridPatchd((28, 28, 1), min_foreground_fraction=0.0, min_lesion_fraction=0.005)(
        {"image": image, "label": label}
    )
    assert [p["location"] for p in patches if p["label"]] == [[28, 0, 1]]  # 6/784 > 0.005; the split lesion is not


def test_errors():
    with pytest.raises(ConfigError, match=r"patch_size entries must be >= 1, got \(28, 0\)"):
        LesionGridPatch((28, 0))
    with pytest.raises(ValueError, match=r"label must have spatial shape \(60, 57, 4\), got \(60, 57, 5\)"):
        LesionGridPatch((28, 28, 1))(np.zeros((1, 60, 57, 4)), np.zeros((1, 60, 57, 5)))
