import numpy as np
import pytest
import torch
from scipy import ndimage
from sklearn.datasets import load_digits

from medmonai.errors import ConfigError
from medmonai.metrics import (
    blurred_mean_baseline,
    memorisation_ratio,
    ms_ssim_diversity,
    ms_ssim_settings,
    sliced_wasserstein_distance,
)

FAST = {"descriptors_per_image": 32, "n_projections": 128}  # enough descriptors and directions for these gaps


def blobs(n: int, seed: int, size: tuple[int, int] = (32, 32), channels: int = 1, sigma: float = 2.0) -> np.ndarray:
    """Random smooth images: white noise blurred within each image, scaled to unit std."""
    noise = np.random.default_rng(seed).standard_normal((n, channels, *size)).astype(np.float32)
    smooth = ndimage.gaussian_filter(noise, sigma=(0, 0, sigma, sigma))
    return smooth / smooth.std()


def digits_32() -> np.ndarray:
    """sklearn's 1797 handwritten digits, 8 x 8 upsampled to 32 x 32, as (N, 1, 32, 32)."""
    images = load_digits().images.astype(np.float32)
    return ndimage.zoom(images, (1, 4, 4), order=1)[:, None]


def test_swd_of_a_second_draw_is_much_smaller_than_of_a_shifted_blurred_or_noise_set():
    real, second = blobs(300, 1), blobs(300, 2)
    same = sliced_wasserstein_distance(real, second, **FAST)["swd"]
    others = {
        "shifted": second + 0.5,
        "blurred": ndimage.gaussian_filter(second, sigma=(0, 0, 1.5, 1.5)),
        "noise": np.random.default_rng(3).standard_normal(second.shape).astype(np.float32),
    }
    for name, fake in others.items():
        assert sliced_wasserstein_distance(real, fake, **FAST)["swd"] > 5 * same, name


def test_the_blurred_mean_baseline_scores_worse_than_the_other_half_of_the_real_images():
    digits = digits_32()
    first, second = digits[:800], digits[800:1600]
    baseline = blurred_mean_baseline(first)
    assert baseline.shape == first.shape and baseline.dtype == torch.float32
    # each pixel keeps its mean and spread (digits run from 0 to 16)
    assert torch.allclose(baseline.mean(0), torch.from_numpy(first.mean(0)), atol=1.0)
    assert torch.allclose(baseline.std(0), torch.from_numpy(first.std(0)), atol=1.0)
    halves = sliced_wasserstein_distance(first, second, **FAST)
    against_baseline = sliced_wasserstein_distance(first, baseline, **FAST)
    assert against_baseline["swd"] > 3 * halves["swd"]


def test_swd_keys_name_each_level_by_its_smaller_side_for_non_square_two_channel_images():
    real, fake = blobs(60, 1, (80, 64), channels=2), blobs(70, 2, (80, 64), channels=2)  # set sizes may differ
    result = sliced_wasserstein_distance(real, fake, **FAST)
    assert list(result) == ["swd", "swd_level_64", "swd_level_32", "swd_level_16"]
    assert result["swd"] == pytest.approx(np.mean([result[k] for k in list(result)[1:]]))
    # every channel counts: replacing only the second one by noise must show
    broken = fake.copy()
    broken[:, 1] = np.random.default_rng(4).standard_normal(broken[:, 1].shape)
    assert sliced_wasserstein_distance(real, broken, **FAST)["swd"] > 5 * result["swd"]


def test_swd_on_16_pixel_images_has_one_level_and_levels_can_be_capped():
    assert list(sliced_wasserstein_distance(blobs(20, 1, (16, 16)), blobs(20, 2, (16, 16)), **FAST)) == [
        "swd",
        "swd_level_16",
    ]
    capped = sliced_wasserstein_distance(blobs(20, 1), blobs(20, 2), levels=1, **FAST)
    assert list(capped) == ["swd", "swd_level_32"]


def test_swd_ignores_the_range_of_the_data_and_takes_torch_or_numpy():
    real, fake = blobs(100, 1), blobs(100, 2) * 1.2
    plain = sliced_wasserstein_distance(real, fake, **FAST)
    rescaled = sliced_wasserstein_distance(torch.from_numpy(real * 40 + 7), torch.from_numpy(fake * 40 + 7), **FAST)
    assert rescaled == pytest.approx(plain, rel=1e-3)


def test_swd_is_deterministic_for_a_seed():
    real, fake = blobs(50, 1), blobs(50, 2)
    first = sliced_wasserstein_distance(real, fake, seed=7, **FAST)
    assert sliced_wasserstein_distance(real, fake, seed=7, **FAST) == first
    assert sliced_wasserstein_distance(real, fake, seed=8, **FAST) != first


@pytest.mark.parametrize(
    ("real", "fake", "settings", "message"),
    [
        (np.zeros((4, 1, 32, 32)), np.zeros((4, 2, 32, 32)), {}, r"differ in \(C, H, W\)"),
        (np.zeros((4, 1, 12, 32)), np.zeros((4, 1, 12, 32)), {}, "at least 16 x 16"),
        (np.zeros((4, 32, 32)), np.zeros((4, 32, 32)), {}, r"\(N, C, H, W\)"),
        (np.zeros((4, 1, 32, 32)), np.zeros((4, 1, 32, 32)), {"levels": 3}, r"levels must be in \[1, 2\]"),
        (np.zeros((4, 1, 32, 32)), np.zeros((4, 1, 32, 32)), {"n_projections": 2}, "at least n_repeats"),
    ],
)
def test_swd_refuses_bad_input(real, fake, settings, message):
    with pytest.raises(ConfigError, match=message):
        sliced_wasserstein_distance(real, fake, **settings)


def test_exact_copies_give_a_ratio_near_zero_and_are_all_counted():
    training = blobs(400, 1)
    copied = training[np.random.default_rng(5).choice(400, 50, replace=False)]
    result = memorisation_ratio(copied, training)
    assert result["memorisation_nn_ratio"] < 0.01
    assert result["copies"] == 50
    assert result["train_nn_distance_median"] > 0


def test_fresh_draws_are_as_far_from_the_training_images_as_these_are_from_each_other():
    training = blobs(400, 1)
    result = memorisation_ratio(blobs(100, 2), training)
    assert result["memorisation_nn_ratio"] > 0.9
    assert result["copies"] == 0


def test_copies_among_fresh_draws_are_counted_with_a_training_subset():
    training = blobs(600, 1)
    samples = np.concatenate([training[[3, 100, 599]] + 1e-3, blobs(60, 2)])  # three near-exact copies
    result = memorisation_ratio(torch.from_numpy(samples), training, max_training=200)
    assert result["copies"] == 3
    assert 0 < result["copy_threshold"] < result["train_nn_distance_median"]


def test_memorisation_refuses_mismatched_shapes():
    with pytest.raises(ConfigError, match="memorisation needs"):
        memorisation_ratio(np.zeros((3, 1, 8, 8)), np.zeros((3, 1, 8, 9)))


def test_ms_ssim_of_identical_images_is_one_and_of_independent_noise_is_low():
    same = np.repeat(blobs(1, 1, channels=2), 10, axis=0)
    assert ms_ssim_diversity(same, n_pairs=20) == pytest.approx(1.0, abs=1e-4)
    noise = np.random.default_rng(6).uniform(size=(50, 1, 32, 32)).astype(np.float32)
    assert ms_ssim_diversity(noise, n_pairs=100) < 0.1


def test_ms_ssim_ranks_similar_sets_above_diverse_ones_at_64_pixels():
    smooth = blobs(40, 1, (64, 64), sigma=6.0)
    base = smooth[:1]
    near_copies = base + 0.1 * smooth[1:]  # one image with small variations
    assert ms_ssim_diversity(near_copies, n_pairs=70) > ms_ssim_diversity(smooth, n_pairs=70) + 0.3


def test_ms_ssim_settings_keep_as_many_scales_as_the_size_allows():
    assert ms_ssim_settings(176, 300) == (11, (0.0448, 0.2856, 0.3001, 0.2363, 0.1333))
    expected = {175: (7, 5), 128: (7, 5), 64: (7, 4), 32: (7, 3), 28: (7, 3), 16: (7, 2), 13: (7, 1)}
    for side, (kernel, scales) in expected.items():
        size, weights = ms_ssim_settings(side, side)
        assert (size, len(weights)) == (kernel, scales), side
        assert sum(weights) == pytest.approx(1.0, abs=1e-3)
    with pytest.raises(ConfigError, match="at least 7 x 7"):
        ms_ssim_settings(6, 32)


def test_ms_ssim_diversity_needs_two_images():
    with pytest.raises(ConfigError, match="needs >= 2 images"):
        ms_ssim_diversity(np.zeros((1, 1, 32, 32)))
