"""The phantom module: tissues, deformation, contrasts, scanner effects and the test lesion generator."""

import numpy as np
import pytest
from nilearn.datasets import load_mni152_template
from scipy import ndimage

from medmonai.data.synthetic import (
    CONTRASTS,
    LESION_KINDS,
    TISSUE_LABELS,
    add_lesions,
    label_map,
    load_tissues,
    random_coordinates,
    resample,
    scanner_effects,
    stroke_mask,
    synthesize,
    synthetic_labels,
    synthetic_subject,
    template_subject,
    tissue_intensities,
)
from medmonai.data.synthetic.template import load_template

CSF, GM, WM = 1, 2, 3


@pytest.fixture(scope="module")
def tissues():
    return load_tissues(2)


@pytest.fixture(scope="module")
def subject(tissues):
    """A label-synthesised anatomy: labels and brain mask."""
    return synthetic_labels(tissues, np.random.default_rng(3))


def _jacobian_determinant(coords):
    grads = np.stack([np.stack(np.gradient(c)) for c in coords])  # (3, 3, X, Y, Z)
    return np.linalg.det(np.moveaxis(grads, (0, 1), (-2, -1)))


def test_tissues_are_the_template_split_into_probabilities(tissues):
    assert tissues.shape == (99, 117, 95) and tissues.voxel_mm == 2.0
    assert tissues.probabilities.shape == (4, 99, 117, 95)
    np.testing.assert_allclose(tissues.probabilities.sum(0), tissues.brain, atol=1e-5)  # CSF = brain - GM - WM
    assert tissues.probabilities.min() >= 0 and not tissues.t1.flags.writeable
    csf, gm, wm, deep = (tissues.probabilities[i].sum() for i in range(4))
    assert gm + deep > wm > csf > 0 and gm > deep > 0  # deep grey matter is a part of the GM map


def test_two_mm_template_matches_nilearn():
    t1, _, affine = load_template(2)
    reference = load_mni152_template(resolution=2)
    expected = np.asarray(reference.get_fdata(), np.float32)
    np.testing.assert_allclose(t1, expected / expected.max(), atol=1e-6)
    np.testing.assert_allclose(affine, reference.affine)


def test_zero_strength_is_the_identity(tissues):
    coords = random_coordinates(tissues.shape, np.random.default_rng(0), strength=0.0)
    np.testing.assert_allclose(coords, np.indices(tissues.shape), atol=1e-3)
    warped = resample(tissues.brain[None], coords)[0]
    np.testing.assert_allclose(warped, tissues.brain, atol=1e-3)


def test_deformation_keeps_the_brain_in_the_image_and_differs_by_seed(tissues):
    masks = []
    for seed in (0, 1):
        coords = random_coordinates(tissues.shape, np.random.default_rng(seed), strength=1.8)
        brain = tissues.brain > 0
        assert _jacobian_determinant(coords)[ndimage.binary_dilation(brain, iterations=3)].min() > 0  # no folding
        mask = resample(tissues.brain[None], coords)[0] > 0.5
        faces = [mask[0], mask[-1], mask[:, 0], mask[:, -1], mask[:, :, 0], mask[:, :, -1]]
        assert not any(face.any() for face in faces)  # nothing pushed out of the field of view
        assert 0.7 < mask.sum() / brain.sum() < 1.4
        masks.append(mask)
    dice = 2 * (masks[0] & masks[1]).sum() / (masks[0].sum() + masks[1].sum())
    assert dice < 0.97


def test_fine_scale_moves_the_folds(tissues):
    """Two subjects differing only in their fine-scale field: the cortex moves by about a voxel."""
    coarse = ((4, 4.0), (8, 2.0))
    fields = [
        random_coordinates(tissues.shape, np.random.default_rng(5), scales=(*coarse, (20, fine))) for fine in (0.0, 1.0)
    ]
    shift = np.linalg.norm(fields[1] - fields[0], axis=0)[tissues.brain > 0]
    assert 0.2 < np.median(shift) < 2.0


def test_label_map_is_crisp_folded_and_individual(tissues, subject):
    labels, brain = subject
    assert labels.dtype == np.uint8 and set(np.unique(labels)) == set(TISSUE_LABELS)
    assert np.array_equal(labels > 0, brain)
    plain = label_map(tissues.probabilities, tissues.brain > 0, np.random.default_rng(0), roughness=0.0)
    other = label_map(tissues.probabilities, tissues.brain > 0, np.random.default_rng(1), roughness=0.0)
    cortex = (plain == GM) | (other == GM)
    assert (plain != other)[cortex].mean() > 0.1  # folds carved by each subject's own field
    with pytest.raises(ValueError, match="expected"):
        label_map(tissues.probabilities[:3], tissues.brain > 0, np.random.default_rng(0))


def _tissue_means(image, labels):
    inner = {k: ndimage.binary_erosion(labels == k) for k in (CSF, GM, WM)}
    return {k: float(image[m].mean()) for k, m in inner.items()}


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("contrast", ["t1", "t2", "flair", "dwi"])
def test_contrast_orders_tissues_as_named_on_the_output(subject, contrast, seed):
    labels, brain = subject
    rng = np.random.default_rng(seed)
    image, settings = synthesize(labels, contrast, rng)
    volume, _ = scanner_effects(image, brain, rng)
    mean = _tissue_means(volume.astype(float), labels)
    if contrast == "t1":
        assert mean[WM] > mean[GM] > mean[CSF]
    elif contrast == "t2":
        assert mean[CSF] > mean[GM] > mean[WM]
    elif contrast == "flair":
        assert mean[GM] > mean[WM] > mean[CSF]
    else:
        assert abs(mean[GM] - mean[WM]) < 0.25 * max(mean[GM], mean[WM])  # low contrast
        assert mean[CSF] < 0.5 * min(mean[GM], mean[WM])  # dark CSF
    assert settings["contrast"] == contrast


def test_random_contrast_draws_any_order_and_unknown_is_refused():
    orders = set()
    rng = np.random.default_rng(0)
    for _ in range(40):
        means, stds = tissue_intensities("random", rng)
        orders.add(tuple(np.argsort(means[1:4])))
        assert means[0] == stds[0] == 0 and min(means[2], means[3]) <= means[4] <= max(means[2], means[3])
    assert len(orders) == 6
    assert set(CONTRASTS) == {"t1", "t2", "flair", "dwi", "random"}
    with pytest.raises(ValueError, match="contrast must be one of"):
        tissue_intensities("pd", rng)


def test_generation_is_deterministic_per_seed(tissues):
    def make(seed):
        rng = np.random.default_rng(seed)
        image, brain, settings = synthetic_subject(tissues, rng, "random")
        volume, scanner = scanner_effects(image, brain, rng)
        return volume, brain, {**settings, **scanner}

    first, again, other = make(7), make(7), make(8)
    np.testing.assert_array_equal(first[0], again[0])
    np.testing.assert_array_equal(first[1], again[1])
    assert first[2] == again[2]
    assert np.abs(first[0].astype(float) - other[0]).mean() > 10 and first[2] != other[2]


def test_scanner_output_is_int16_inside_the_brain_rim(tissues):
    rng = np.random.default_rng(2)
    image, brain, settings = template_subject(tissues, rng, 1.0)
    volume, drawn = scanner_effects(image, brain, rng)
    assert settings == {"source": "template", "contrast": "t1", "strength": 1.0}
    assert volume.dtype == np.int16 and volume.shape == tissues.shape
    rim = ndimage.binary_dilation(brain, iterations=2)
    assert not volume[~rim].any() and volume[brain].mean() > 300
    assert {"sharpness", "artefact", "gamma", "noise_std", "bias_coeff", "scale"} <= set(drawn)
    with pytest.raises(ValueError, match="differ in shape"):
        scanner_effects(image[1:], brain, rng)


@pytest.fixture(scope="module")
def healthy(tissues):
    rng = np.random.default_rng(11)
    image, brain, _ = template_subject(tissues, rng, 1.0)
    return image, brain


@pytest.mark.parametrize("kind", sorted(LESION_KINDS))
def test_add_lesions_labels_exactly_the_changed_region(healthy, kind):
    image, brain = healthy
    out, label, records = add_lesions(image.copy(), brain, kind, np.random.default_rng(kind))
    lesion = label > 0
    assert label.dtype == np.uint8 and set(np.unique(label)) == {0, kind}
    assert 1 <= len(records) <= 3 and not (lesion & ~brain).any()
    change = np.abs(out - image)
    distance = ndimage.distance_transform_edt(~lesion)  # voxels from the labelled lesion
    if kind < 4:  # intensity lesions: soft edges (Gaussian, sigma 0.7) fade out within 3 voxels
        assert change[distance > 3.5].max() < 1e-4
        assert (change[lesion] > 1e-3).mean() > 0.95
    before, after = image[lesion], out[lesion]
    if kind == 1:
        assert np.median(after) > np.percentile(image[brain], 95)
    elif kind == 2:
        assert after.mean() < 0.7 * before.mean()
    elif kind == 3:
        assert np.std(after - before) > 0.2 * before.mean()
    else:  # mass effect: tissue pushed around the slightly darker core, fading with distance
        assert after.mean() < before.mean()
        assert change[(distance > 20) & brain].mean() < 0.1 * change[(distance > 0) & (distance < 4)].mean()


def test_add_lesions_refuses_unknown_kinds(healthy):
    with pytest.raises(ValueError, match="lesion kind"):
        add_lesions(*healthy, 5, np.random.default_rng(0))


def test_stroke_mask_lies_in_the_brain(healthy):
    _, brain = healthy
    mask, records = stroke_mask(brain, np.random.default_rng(4))
    assert mask.dtype == np.float32 and 1 <= len(records) <= 3
    assert mask.sum() > 10 and not (mask.astype(bool) & ~brain).any()
    with pytest.raises(ValueError, match="too small"):
        stroke_mask(np.zeros((20, 20, 20)), np.random.default_rng(0))
