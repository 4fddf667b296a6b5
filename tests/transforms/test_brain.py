import nibabel as nib
import numpy as np
import pytest
import SimpleITK as sitk
import torch
from monai.data import MetaTensor
from monai.transforms import Rand3DElasticd
from scipy import ndimage

from medmonai.data.synthetic.template import load_template
from medmonai.errors import ConfigError, DataError
from medmonai.transforms import ExtractBrain, ExtractBraind, N4BiasCorrection, N4BiasCorrectiond, extract_brain
from medmonai.transforms.brain.array import array_from_image
from medmonai.transforms.brain.registration import image_from_array
from tests.conftest import dice

FAST = {"deformable": False, "affine_iterations": 30}  # enough to check plumbing, not accuracy


@pytest.fixture(scope="module")
def subject():
    """The 2 mm MNI152 T1 and brain mask under one random affine (<= 10 deg, +-8 %, +-4 mm) and elastic warp.

    The elastic part left after the best affine fit moves brain voxels by 1.2 voxels (2.4 mm) on average, up to
    3.4 voxels. Returns ``(t1, mask, affine)``: ``(X, Y, Z)`` float32 arrays and the template's RAS affine.
    """
    t1, mask, affine = load_template(2)
    warp = Rand3DElasticd(
        ["image", "label"],
        sigma_range=(7.0, 8.0),
        magnitude_range=(100.0, 200.0),
        prob=1.0,
        rotate_range=(np.pi / 18,) * 3,
        scale_range=(0.08,) * 3,
        translate_range=(2.0,) * 3,
        mode=("bilinear", "nearest"),
        padding_mode="zeros",
    )
    warp.set_random_state(0)
    out = warp({"image": t1[None], "label": mask[None]})
    return np.asarray(out["image"][0], np.float32), np.asarray(out["label"][0]) > 0.5, affine


def with_skull(t1, mask):
    """A skull-on head: a 2-voxel dark gap (CSF), a bright 2-voxel shell (skull marrow) and a dimmer scalp."""
    shells = [ndimage.binary_dilation(mask, iterations=n) for n in (2, 4, 5, 6)]
    head = t1.copy()
    head[shells[1] & ~shells[0]] = 1.0
    head[shells[3] & ~shells[2]] = 0.5
    return head


def test_geometry_matches_itks_nifti_reader(tmp_path):
    affine = np.array([[-2.0, 0, 0, 90], [0, 2.5, 0, -126], [0, 0, 3.0, -72], [0, 0, 0, 1]])
    volume = np.random.default_rng(0).random((5, 6, 7)).astype(np.float32)
    nib.save(nib.Nifti1Image(volume, affine), tmp_path / "v.nii")
    ours, itk = image_from_array(volume, affine), sitk.ReadImage(str(tmp_path / "v.nii"))
    assert ours.GetSpacing() == pytest.approx(itk.GetSpacing())
    assert ours.GetOrigin() == pytest.approx(itk.GetOrigin())
    assert ours.GetDirection() == pytest.approx(itk.GetDirection())
    np.testing.assert_array_equal(array_from_image(ours), volume)
    np.testing.assert_array_equal(array_from_image(itk), volume)


@pytest.mark.parametrize("skull", [False, True], ids=["skull_stripped", "skull_on"])
def test_extracted_mask_matches_the_warped_template_mask(subject, skull):
    t1, mask, affine = subject
    head = with_skull(t1, mask) if skull else t1
    img = MetaTensor(head[None], affine=torch.as_tensor(affine))
    extracted = ExtractBrain()(img)
    assert isinstance(extracted, MetaTensor) and extracted.shape == img.shape and extracted.dtype == torch.uint8
    assert dice(np.asarray(extracted[0]) > 0, mask) >= 0.95  # measured 0.984 without, 0.983 with the skull


def test_extract_brain_on_simpleitk_images_is_deterministic(subject):
    t1, _, affine = subject
    image = image_from_array(t1, affine)
    first, second = extract_brain(image, **FAST), extract_brain(image, **FAST)
    assert first.mask.GetSize() == image.GetSize() and first.mask.GetOrigin() == image.GetOrigin()
    np.testing.assert_array_equal(sitk.GetArrayFromImage(first.mask), sitk.GetArrayFromImage(second.mask))
    assert first.similarity == pytest.approx(second.similarity, rel=1e-6) and first.similarity > 0.7


@pytest.mark.parametrize(
    "case",
    [
        {
            "shape": (10, 40, 40),
            "pixdim": 2.0,
            "message": "volume of 10x40x40 voxels is too small to register; needs >= 16",
        },
        {"shape": (20, 40, 40), "pixdim": 1.0, "message": "field of view of 20x40x40 mm is too small"},
    ],
)
def test_too_small_volumes_name_their_file(case):
    volume = np.random.default_rng(0).random((1, *case["shape"])).astype(np.float32)
    affine = torch.diag(torch.tensor([case["pixdim"]] * 3 + [1.0], dtype=torch.float64))
    img = MetaTensor(volume, affine=affine, meta={"filename_or_obj": "/data/7/t1.nii.gz"})
    with pytest.raises(DataError, match=r"/data/7/t1\.nii\.gz: " + case["message"]):
        ExtractBrain()(img)


def test_diverged_registrations_are_errors(subject):
    _, _, affine = subject
    noise = np.random.default_rng(0).random((1, 91, 109, 91)).astype(np.float32)
    with pytest.raises(DataError, match=r"^volume: registration .* diverged \(correlation -?0\.\d\d inside the brain"):
        ExtractBrain(**FAST)(noise, affine=affine)
    t1, _, affine = subject
    with pytest.raises(DataError, match=r"diverged \(brain mask of \d+ ml, needs 500 to 1000 ml\)"):
        ExtractBrain(max_volume_ml=1000, **FAST)(t1[None], affine=affine)


def test_bad_settings():
    with pytest.raises(ConfigError, match="resolution must be 1 or 2"):
        ExtractBrain(resolution=3)
    with pytest.raises(ConfigError, match="settings must be extract_brain keywords"):
        ExtractBrain(iterations=5)
    with pytest.raises(ConfigError, match="seed must be >= 1"):
        ExtractBrain(seed=0)
    with pytest.raises(ConfigError, match="sampling must be in"):
        ExtractBrain(sampling=0.0)
    with pytest.raises(ConfigError, match="shrink_factor must be >= 1"):
        N4BiasCorrection(shrink_factor=0)


def test_dict_version_writes_a_mask_and_keeps_existing_ones(subject):
    t1, mask, affine = subject
    img = MetaTensor(t1[None], affine=torch.as_tensor(affine), meta={"filename_or_obj": "t1.nii.gz"})
    out = ExtractBraind(**FAST)({"image": img, "case_id": "3"})
    assert out["brain_mask"].shape == img.shape and out["brain_mask"].meta["filename_or_obj"] == "t1.nii.gz"
    assert dice(np.asarray(out["brain_mask"][0]) > 0, mask) > 0.9 and out["case_id"] == "3"
    given = np.zeros_like(t1[None])
    kept = ExtractBraind(**FAST)({"image": img, "brain_mask": given})
    assert kept["brain_mask"] is given and kept["image"] is img


def test_dict_version_moves_image_and_label_to_the_template(subject):
    t1, mask, affine = subject
    img = MetaTensor(t1[None], affine=torch.as_tensor(affine))
    label = MetaTensor(mask[None].astype(np.uint8), affine=torch.as_tensor(affine))
    out = ExtractBraind(to_template=True, bspline_iterations=5)({"image": img, "label": label})
    template_t1, template_mask, template_affine = load_template(2)
    for key in ("image", "label", "brain_mask"):
        assert out[key].shape == (1, 99, 117, 95)
        np.testing.assert_allclose(out[key].affine.numpy(), template_affine, atol=1e-6)
    assert out["label"].dtype == torch.uint8 and set(np.unique(out["label"].numpy())) <= {0, 1}
    np.testing.assert_array_equal(out["brain_mask"][0].numpy(), template_mask)
    assert dice(out["label"][0].numpy() > 0, template_mask > 0) > 0.95  # the inverse undoes the warp
    assert np.corrcoef(out["image"][0].numpy().ravel(), template_t1.ravel())[0, 1] > 0.9


def biased_phantom():
    """A uniform ellipsoid (100 +- 2) times a smooth multiplicative bias, with 1 mm voxels."""
    grid = np.meshgrid(*[np.linspace(-1, 1, 40)] * 3, indexing="ij")
    inside = sum(g * g for g in grid) < 0.7
    volume = np.where(inside, 100.0 + np.random.default_rng(0).normal(0, 2, inside.shape), 0.0)
    bias = np.exp(0.35 * grid[0] - 0.25 * grid[1] * grid[1] + 0.2 * grid[2])
    return (volume * bias)[None].astype(np.float32), inside


def variation(volume, region):
    values = np.asarray(volume)[0][region]
    return values.std() / values.mean()


@pytest.mark.parametrize("make", [np.asarray, torch.as_tensor, MetaTensor], ids=["numpy", "torch", "metatensor"])
def test_n4_flattens_a_smooth_bias(make):
    volume, inside = biased_phantom()
    core = ndimage.binary_erosion(inside, iterations=2)
    out = N4BiasCorrection(shrink_factor=2)(make(volume))
    assert type(out) is type(make(volume)) and out.shape == volume.shape and out.dtype in (np.float32, torch.float32)
    assert variation(out, core) < 0.5 * variation(volume, core)  # measured 0.14 -> 0.02


def test_n4_dict_version_uses_the_given_mask():
    volume, inside = biased_phantom()
    out = N4BiasCorrectiond("image", mask_key="mask", shrink_factor=2)({"image": volume, "mask": inside[None]})
    assert variation(out["image"], inside) < 0.5 * variation(volume, inside)
    with pytest.raises(DataError, match="no positive voxel inside the mask"):
        N4BiasCorrection()(volume, mask=np.zeros_like(volume))
