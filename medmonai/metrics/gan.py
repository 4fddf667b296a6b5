"""Offline quality metrics of image generators: sliced Wasserstein distance, MS-SSIM diversity and memorisation.

None of these needs pretrained weights. The sliced Wasserstein distance (SWD) compares local image statistics at
several scales, as in Karras et al. 2018, "Progressive growing of GANs" (appendix D); it is written here from the
paper's description. MS-SSIM diversity is the mean similarity of random pairs within one set, and the memorisation
ratio compares how close samples come to the training images with how close training images come to each other.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import torch
from monai.metrics import MultiScaleSSIMMetric

from medmonai.errors import ConfigError

__all__ = [
    "sliced_wasserstein_distance",
    "ms_ssim_settings",
    "ms_ssim_diversity",
    "memorisation_ratio",
    "blurred_mean_baseline",
]

SWD_SCALE = 1e3  # the paper reports SWD x 1e3; so does this module, so numbers read like its tables
SWD_SMALLEST_LEVEL = 16  # the pyramid stops at the last level whose smaller side is at least 16 pixels
MS_SSIM_WEIGHTS = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)  # Wang et al. 2003, finest scale first
_BINOMIAL_5 = torch.tensor([1.0, 4.0, 6.0, 4.0, 1.0]) / 16.0  # the Burt-Adelson pyramid kernel
_CHUNK_ELEMENTS = 1 << 24  # bounds the projected values or distances held at once (64 MiB of float32)


def _as_images(images: np.ndarray | torch.Tensor, name: str) -> torch.Tensor:
    """``images`` as a float32 CPU tensor ``(N, C, H, W)``; ConfigError for any other shape."""
    tensor = torch.as_tensor(images).detach().to("cpu", torch.float32)
    if tensor.ndim != 4 or tensor.shape[0] == 0:
        raise ConfigError(f"{name} must be a non-empty (N, C, H, W) batch of images, got shape {tuple(tensor.shape)}")
    return tensor


def _pyramid_operators(size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """1-D pyramid steps as matrices: ``reduce`` (blur, keep every other sample) and ``lowpass`` (reduce, expand).

    ``reduce`` is ``(ceil(size / 2), size)``: the 5-tap binomial blur, mirrored at the borders, at the even
    samples. ``lowpass`` is ``(size, size)``: reduce, then put the samples back at the even positions with zeros
    between and blur with gain 2 (Burt and Adelson's expand). Applied along both axes, two matrix products replace
    padded grouped convolutions, which are much slower on CPU.
    """
    blur = np.zeros((size, size))
    for i in range(size):
        for tap, weight in zip(range(-2, 3), _BINOMIAL_5, strict=True):
            j = abs(i + tap)  # mirrored at both borders, the edge sample not repeated
            blur[i, j if j < size else 2 * (size - 1) - j] += weight
    reduce = blur[::2]
    return torch.from_numpy(reduce).float(), torch.from_numpy(2.0 * blur[:, ::2] @ reduce).float()


def _pyramid_levels(height: int, width: int) -> int:
    """Levels of the Laplacian pyramid down to the last one whose smaller side is at least 16 pixels."""
    side, levels = min(height, width), 0
    while side >= SWD_SMALLEST_LEVEL:
        side, levels = (side + 1) // 2, levels + 1
    return levels


def _laplacian_pyramid(images: torch.Tensor, levels: int) -> list[torch.Tensor]:
    """Band-pass levels from full resolution down, the last one the low-pass residual."""
    pyramid, current = [], images
    for _ in range(levels - 1):
        (reduce_h, lowpass_h), (reduce_w, lowpass_w) = (_pyramid_operators(n) for n in current.shape[-2:])
        pyramid.append(current - lowpass_h @ current @ lowpass_w.T)
        current = reduce_h @ current @ reduce_w.T
    pyramid.append(current.contiguous())
    return pyramid


def _descriptors(level: torch.Tensor, per_image: int, patch_size: int, rng: np.random.Generator) -> torch.Tensor:
    """``per_image`` random square neighbourhoods of every image, channels last: ``(N * per_image, p * p, C)``."""
    n, c, h, w = level.shape
    top = rng.integers(0, h - patch_size + 1, n * per_image)
    left = rng.integers(0, w - patch_size + 1, n * per_image)
    corner = np.repeat(np.arange(n) * (c * h * w), per_image) + top * w + left
    dy, dx, channel = np.meshgrid(np.arange(patch_size), np.arange(patch_size), np.arange(c), indexing="ij")
    offsets = (channel * (h * w) + dy * w + dx).ravel()
    descriptors = level.new_empty(n * per_image, offsets.size)
    rows = max(1, _CHUNK_ELEMENTS // offsets.size)  # bounds the int64 indices held at once
    for start in range(0, n * per_image, rows):
        # one flat gather is several times faster than indexing four axes at once
        index = torch.from_numpy(corner[start : start + rows, None] + offsets)
        descriptors[start : start + rows] = torch.take(level, index)
    return descriptors.view(n * per_image, -1, c)


def _normalise_jointly(real: torch.Tensor, fake: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Zero mean and unit std per channel (last axis), over both sets together, flattened to ``(M, p * p * C)``.

    Pooling the statistics keeps a difference of brightness or contrast between the sets visible.
    """
    # each set's own moments, pooled, rather than concatenating both sets into one more copy
    (var_a, mean_a), (var_b, mean_b) = (
        (moment.double() for moment in torch.var_mean(x.flatten(0, 1), 0, correction=0)) for x in (real, fake)
    )
    share_a = real.shape[0] / (real.shape[0] + fake.shape[0])
    mean = share_a * mean_a + (1 - share_a) * mean_b
    var = share_a * (var_a + (mean_a - mean) ** 2) + (1 - share_a) * (var_b + (mean_b - mean) ** 2)
    std = torch.where(var > 0, var.sqrt(), torch.ones_like(var)).float()  # a constant channel carries no information
    mean = mean.float()
    return real.sub_(mean).div_(std).flatten(1), fake.sub_(mean).div_(std).flatten(1)


def _sliced_wasserstein(
    a: torch.Tensor,
    b: torch.Tensor,
    n_projections: int,
    n_repeats: int,
    rng: np.random.Generator,
    pool: ThreadPoolExecutor,
) -> float:
    """Mean over random unit directions of the 1-D Wasserstein-1 distance between the projected sets."""
    parts = torch.get_num_threads()  # the pool's size
    size = min(len(a), len(b))
    per_repeat = np.diff(np.linspace(0, n_projections, n_repeats + 1).round().astype(int))
    block = max(1, _CHUNK_ELEMENTS // size)
    total = 0.0
    for count in per_repeat:
        # equal sizes make the 1-D distance a plain difference of sorted values; redraw the subsample each repeat
        a_used = a if len(a) == size else a[torch.from_numpy(rng.choice(len(a), size, replace=False))]
        b_used = b if len(b) == size else b[torch.from_numpy(rng.choice(len(b), size, replace=False))]
        directions = torch.from_numpy(rng.standard_normal((a.shape[1], count), dtype=np.float32))
        directions /= directions.norm(dim=0, keepdim=True)
        for start in range(0, count, block):
            d = directions[:, start : start + block]
            projected_a, projected_b = (d.T @ a_used.T).numpy(), (d.T @ b_used.T).numpy()
            # numpy sorts contiguous rows several times faster than torch.sort on CPU, and releases the GIL
            list(pool.map(np.ndarray.sort, np.array_split(projected_a, parts) + np.array_split(projected_b, parts)))
            gaps = np.abs(np.subtract(projected_a, projected_b, out=projected_a), out=projected_a)
            total += float(gaps.mean(axis=1).sum())  # numpy sums contiguous rows pairwise: float32 is precise
    return total / n_projections


def sliced_wasserstein_distance(
    real: np.ndarray | torch.Tensor,
    fake: np.ndarray | torch.Tensor,
    *,
    levels: int | None = None,
    descriptors_per_image: int = 128,
    patch_size: int = 7,
    n_projections: int = 512,
    n_repeats: int = 4,
    seed: int = 0,
) -> dict[str, float]:
    """Multi-scale sliced Wasserstein distance between two sets of images, as in the PGGAN paper (appendix D).

    Every image is split into a Laplacian pyramid (5-tap binomial blur, downsampling by 2), from full resolution
    down to the last level whose smaller side is at least 16 pixels; that last level is the low-pass residual.
    From each level, ``descriptors_per_image`` random ``patch_size`` x ``patch_size`` neighbourhoods (all channels)
    are taken per image. Each level's descriptors are normalised per channel to zero mean and unit std, with the
    statistics pooled over real and fake, so the inputs may be in any range. The distance between the two
    descriptor sets is the 1-D Wasserstein-1 distance (mean absolute difference of the sorted values) along random
    unit directions, averaged over the directions. ``n_projections`` directions are drawn in all (the paper's 512),
    in ``n_repeats`` rounds; when the sets differ in size, each round compares a fresh random subsample of the
    larger set of the smaller one's size. Like the paper's tables, every value is multiplied by 1e3.

    Args:
        real: ``(N, C, H, W)`` images, numpy or torch, any range; H and W at least 16.
        fake: ``(M, C, H, W)`` images of the same channels and size; M may differ from N.
        levels: pyramid levels, at most the number the 16-pixel rule allows; None uses them all. Defaults to None.
        descriptors_per_image: neighbourhoods drawn per image and level. Defaults to 128.
        patch_size: side of a neighbourhood. Defaults to 7.
        n_projections: random directions in all. Defaults to 512.
        n_repeats: rounds the directions are drawn in. Defaults to 4.
        seed: seeds the neighbourhoods, directions and subsamples. Defaults to 0.

    Returns:
        ``{"swd": mean over levels, "swd_level_<side>": ... per level}``, where ``<side>`` is the smaller side of
        the level in pixels (``swd_level_64``, ``swd_level_32``, ``swd_level_16`` for 64 x 64 or 80 x 64 images);
        all x 1e3.

    Raises:
        ConfigError: the sets differ in channels or size, are not ``(N, C, H, W)``, are smaller than 16 pixels,
            or a setting is out of range.
    """
    real, fake = _as_images(real, "real"), _as_images(fake, "fake")
    if real.shape[1:] != fake.shape[1:]:
        raise ConfigError(
            f"real and fake images differ in (C, H, W): {tuple(real.shape[1:])} vs {tuple(fake.shape[1:])}"
        )
    available = _pyramid_levels(*real.shape[-2:])
    if available == 0:
        raise ConfigError(f"sliced Wasserstein distance needs images of at least 16 x 16, got {tuple(real.shape[-2:])}")
    levels = available if levels is None else levels
    if not 1 <= levels <= available:
        raise ConfigError(f"levels must be in [1, {available}] for images of {tuple(real.shape[-2:])}, got {levels}")
    if not 1 <= patch_size <= SWD_SMALLEST_LEVEL or min(descriptors_per_image, n_repeats) < 1:
        raise ConfigError("patch_size must be in [1, 16], descriptors_per_image and n_repeats at least 1")
    if n_projections < n_repeats:
        raise ConfigError(f"n_projections ({n_projections}) must be at least n_repeats ({n_repeats})")
    rng = np.random.default_rng(seed)
    result = {}
    with ThreadPoolExecutor(torch.get_num_threads()) as pool:
        for real_level, fake_level in zip(
            _laplacian_pyramid(real, levels), _laplacian_pyramid(fake, levels), strict=True
        ):
            a = _descriptors(real_level, descriptors_per_image, patch_size, rng)
            b = _descriptors(fake_level, descriptors_per_image, patch_size, rng)
            a, b = _normalise_jointly(a, b)
            side = min(real_level.shape[-2:])
            result[f"swd_level_{side}"] = SWD_SCALE * _sliced_wasserstein(a, b, n_projections, n_repeats, rng, pool)
    return {"swd": float(np.mean(list(result.values()))), **result}


def ms_ssim_settings(height: int, width: int) -> tuple[int, tuple[float, ...]]:
    """Kernel size and scale weights of MS-SSIM for images of ``height`` x ``width``.

    Images of at least 176 pixels (the smaller side) get the standard settings: an 11-pixel Gaussian window
    (sigma 1.5) and Wang et al.'s five scale weights. Smaller images get a 7-pixel window (sigma still 1.5) and
    as many scales as fit, the coarsest scale at least a window wide and MONAI's own size check
    (``side // (scales - 1) ** 2 > kernel - 1``) passed: 1 scale (plain SSIM) from 7 pixels, 2 from 14, 3 from 28
    (28 and 32), 4 from 63 (64), 5 from 112 (128). The weights are then the first ones of the five, rescaled to sum
    to 1, so the result stays a weighted geometric mean in [0, 1].

    Returns:
        ``(kernel_size, weights)``.

    Raises:
        ConfigError: a side is below 7 pixels.
    """
    side = min(height, width)
    if side >= 176:
        return 11, MS_SSIM_WEIGHTS
    kernel = 7
    for scales in range(len(MS_SSIM_WEIGHTS), 0, -1):
        if side // 2 ** (scales - 1) >= kernel and side // max(1, scales - 1) ** 2 > kernel - 1:
            weights = np.asarray(MS_SSIM_WEIGHTS[:scales])
            return kernel, tuple((weights / weights.sum()).tolist())
    raise ConfigError(f"MS-SSIM needs images of at least 7 x 7, got {height} x {width}")


def ms_ssim_diversity(
    images: np.ndarray | torch.Tensor, n_pairs: int = 256, seed: int = 0, *, data_range: float | None = None
) -> float:
    """Mean MS-SSIM over random pairs of distinct images of one set; lower means a more diverse set.

    MS-SSIM is MONAI's ``MultiScaleSSIMMetric`` (2-D) with the kernel and scales of :func:`ms_ssim_settings`, so
    GAN samples and real images of the same size are scored alike. Pairs are drawn with replacement, never an
    image with itself.

    Args:
        images: ``(N, C, H, W)``, N at least 2, numpy or torch.
        n_pairs: random pairs. Defaults to 256.
        seed: seeds the pairs. Defaults to 0.
        data_range: the intensity range MS-SSIM assumes; None takes max - min of ``images``. Pass the real
            images' range when scoring samples to compare them at one scale. Defaults to None.

    Returns:
        The mean MS-SSIM, in [0, 1].

    Raises:
        ConfigError: fewer than two images, an image below 7 x 7, or ``n_pairs`` below 1.
    """
    images = _as_images(images, "images")
    if len(images) < 2 or n_pairs < 1:
        raise ConfigError(f"MS-SSIM diversity needs >= 2 images and >= 1 pair, got {len(images)} and {n_pairs}")
    kernel_size, weights = ms_ssim_settings(*images.shape[-2:])
    if data_range is None:
        data_range = float(images.max() - images.min())
    metric = MultiScaleSSIMMetric(
        spatial_dims=2, data_range=data_range if data_range > 0 else 1.0, kernel_size=kernel_size, weights=weights
    )
    rng = np.random.default_rng(seed)
    first = rng.integers(0, len(images), n_pairs)
    second = (first + rng.integers(1, len(images), n_pairs)) % len(images)  # a shift of 1..N-1 never meets itself
    values = [
        metric(images[first[start : start + 64]], images[second[start : start + 64]]) for start in range(0, n_pairs, 64)
    ]
    return float(torch.cat(values).mean())


def _nearest_distances(
    queries: torch.Tensor, references: torch.Tensor, exclude: torch.Tensor | None = None
) -> torch.Tensor:
    """L2 distance from each query row to its nearest reference row, in chunks of queries.

    Args:
        queries: ``(Q, D)``.
        references: ``(R, D)``.
        exclude: ``(Q,)`` index of a reference each query must not match (itself), or None.
    """
    rows = max(1, _CHUNK_ELEMENTS // len(references))
    nearest = []
    for start in range(0, len(queries), rows):
        distances = torch.cdist(queries[start : start + rows], references)
        if exclude is not None:
            chunk = exclude[start : start + rows]
            distances[torch.arange(len(chunk)), chunk] = float("inf")
        nearest.append(distances.min(1).values)
    return torch.cat(nearest)


def memorisation_ratio(
    samples: np.ndarray | torch.Tensor,
    training: np.ndarray | torch.Tensor,
    max_training: int = 5000,
    seed: int = 0,
) -> dict[str, float]:
    """How close samples come to the training images, relative to how close training images are to each other.

    Distances are L2 over the flattened pixels (float32, after subtracting the training mean, which leaves them
    unchanged and keeps the fast matrix-product distance precise). Each sample is matched to its nearest image in
    the whole training set; a random subset of at most ``max_training`` training images is matched to its nearest
    other image in the whole training set, so both look into the same population. A ratio of the medians near or
    above 1 means samples are no closer to the training images than these are to each other; near 0, samples
    reproduce training images. A sample counts as a likely copy when its distance is below half the 1st
    percentile of the training nearest-neighbour distances: nearer than 99 % of training images come to any
    other, with a factor 2 of margin, so that fresh images from the training distribution are practically never
    flagged.

    Args:
        samples: ``(S, ...)`` generated images, in the same range and preprocessing as ``training``.
        training: ``(T, ...)`` training images, T at least 2.
        max_training: training images matched among themselves. Defaults to 5000.
        seed: seeds the training subset. Defaults to 0.

    Returns:
        ``{"memorisation_nn_ratio", "sample_nn_distance_median", "train_nn_distance_median", "copies",
        "copy_threshold"}``; the ratio is NaN when every training image has an exact duplicate.

    Raises:
        ConfigError: the image shapes differ, there are no samples, fewer than two training images, or
            ``max_training`` is below 1.
    """
    samples = torch.as_tensor(samples).detach().to("cpu", torch.float32)
    training = torch.as_tensor(training).detach().to("cpu", torch.float32)
    if samples.shape[1:] != training.shape[1:] or len(samples) < 1 or len(training) < 2 or max_training < 1:
        raise ConfigError(
            f"memorisation needs >= 1 sample and >= 2 training images of one shape and max_training >= 1, got "
            f"{tuple(samples.shape)}, {tuple(training.shape)} and {max_training}"
        )
    centre = training.flatten(1).mean(0)
    samples, training = samples.flatten(1) - centre, training.flatten(1) - centre
    subset = torch.arange(len(training))
    if len(training) > max_training:
        subset = torch.from_numpy(np.sort(np.random.default_rng(seed).choice(len(training), max_training, False)))
    sample_nn = _nearest_distances(samples, training)
    train_nn = _nearest_distances(training[subset], training, exclude=subset)
    sample_median, train_median = float(np.median(sample_nn.numpy())), float(np.median(train_nn.numpy()))
    threshold = 0.5 * float(np.quantile(train_nn.numpy(), 0.01))
    return {
        "memorisation_nn_ratio": sample_median / train_median if train_median > 0 else float("nan"),
        "sample_nn_distance_median": sample_median,
        "train_nn_distance_median": train_median,
        "copies": int((sample_nn < threshold).sum()),
        "copy_threshold": threshold,
    }


def blurred_mean_baseline(real: np.ndarray | torch.Tensor, seed: int = 0) -> torch.Tensor:
    """A 'blurred mean' baseline generator: the per-pixel mean image plus Gaussian noise of each pixel's std.

    Every pixel of every image gets its own noise, so the baseline matches each pixel's mean and spread but none of
    the structure that ties neighbouring pixels together; a generator should beat it by a wide margin.

    Args:
        real: ``(N, ...)`` images, numpy or torch.
        seed: seeds the noise. Defaults to 0.

    Returns:
        A float32 tensor of the shape of ``real``.
    """
    real = torch.as_tensor(real).detach().to("cpu", torch.float32)
    noise = torch.randn(real.shape, generator=torch.Generator().manual_seed(seed))
    return real.mean(0) + real.std(0, unbiased=False) * noise
