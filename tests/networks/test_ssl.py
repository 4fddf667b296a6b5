import math

import pytest
import torch
from scipy import stats
from torch import nn

from medmonai.errors import ConfigError
from medmonai.networks import BatchAugment, ContextPrediction, SimCLR, SSLEncoder, WholeImageVAE
from medmonai.networks.ssl import extract_patches, grid_starts, neighbour_offsets, positive_pair_accuracy

TINY = {"channels": (8, 16), "strides": (2, 2), "embedding_dim": 16}  # small enough to train in a test


def blobs(count: int, size: int, spatial_dims: int = 2, seed: int = 0) -> torch.Tensor:
    """Gaussian blobs of random centre and width on a dark background: a toy population, ``(count, 1, *size)``."""
    generator = torch.Generator().manual_seed(seed)
    axes = torch.meshgrid(*[torch.linspace(-1, 1, size)] * spatial_dims, indexing="ij")
    shape = (-1,) + (1,) * spatial_dims
    centres = (torch.rand(count, spatial_dims, generator=generator) - 0.5) * 0.8
    widths = 0.2 + 0.3 * torch.rand(count, generator=generator)
    distance = sum((axis[None] - centres[:, d].view(shape)) ** 2 for d, axis in enumerate(axes))
    return torch.exp(-distance / (2 * widths.view(shape) ** 2))[:, None]


def gratings(count: int, size: int, seed: int = 0) -> torch.Tensor:
    """2-D sinusoidal gratings, one orientation each and random frequencies: ``(count, 1, size, size)``.

    Orientation and frequency survive the views' intensity changes, small rotations and shifts, so a contrastive
    model can tell the images apart (Gaussian blobs differ mainly by position, which global pooling discards).
    """
    generator = torch.Generator().manual_seed(seed)
    y, x = torch.meshgrid(torch.arange(size).float(), torch.arange(size).float(), indexing="ij")
    angle = (torch.arange(count) * math.pi / count).view(-1, 1, 1)
    frequency = 2 * math.pi * (0.08 + 0.12 * torch.rand(count, generator=generator)).view(-1, 1, 1)
    return (0.5 + 0.5 * torch.sin((x * torch.cos(angle) + y * torch.sin(angle)) * frequency))[:, None]


def make(kind: str, spatial_dims: int, size: int, **kwargs) -> nn.Module:
    """A tiny model of each kind for ``size``-sided images."""
    if kind == "context":
        return ContextPrediction(spatial_dims, patch_size=6, gap=1, jitter=1, pairs_per_image=8, **TINY, **kwargs)
    if kind == "simclr":
        return SimCLR(spatial_dims, projection_dim=8, **TINY, **kwargs)
    in_shape = (1,) + (size,) * spatial_dims
    return WholeImageVAE(spatial_dims, in_shape, latent_size=8, channels=(8, 16), strides=(2, 2), **kwargs)


KINDS = ["context", "simclr", "vae"]


@pytest.fixture(autouse=True)
def one_thread():
    """These tensors are tiny: a second thread costs more in synchronisation than it saves on a busy machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def train(model: nn.Module, images: torch.Tensor, steps: int = 30, lr: float = 1e-2) -> list[float]:
    """Losses of ``steps`` Adam steps on the same batch."""
    optimiser = torch.optim.Adam(model.parameters(), lr=lr)
    losses = []
    for _ in range(steps):
        loss = model.training_loss(images)["loss"]
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        losses.append(float(loss.detach()))
    return losses


@pytest.mark.parametrize(
    "case",
    [
        {"spatial_dims": 2, "shape": (3, 1, 17, 23), "pool": 1},  # odd, non-square 2-D, global average pooling
        {"spatial_dims": 2, "shape": (3, 1, 17, 23), "pool": (2, 3)},  # a coarse grid keeps where things are
        {"spatial_dims": 3, "shape": (2, 2, 8, 9, 4), "pool": 1},  # 3-D, two channels, 2**len(strides) on a side
    ],
)
def test_encoder_maps_any_size_to_one_vector(case):
    encoder = SSLEncoder(case["spatial_dims"], in_channels=case["shape"][1], pool_size=case["pool"], **TINY)
    assert encoder(torch.randn(case["shape"])).shape == (case["shape"][0], 16)
    cells = math.prod(case["pool"]) if isinstance(case["pool"], tuple) else 1
    assert encoder.features(torch.randn(case["shape"])).shape == (case["shape"][0], 16 * cells)


def test_pooling_grid_tells_where_global_pooling_does_not():
    torch.manual_seed(0)
    image = torch.zeros(1, 1, 32, 32)
    image[..., 8:12, 8:12] = 1.0
    moved = image.roll(8, dims=-1)  # the same square elsewhere, away from the border, on the stride grid
    change = {}
    for pool in (1, 2):
        encoder = SSLEncoder(2, pool_size=pool, **TINY).eval()
        with torch.no_grad():
            change[pool] = float((encoder(image) - encoder(moved)).abs().max())
    assert change[1] < 1e-5 and change[2] > 1e-2


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("spatial_dims", [2, 3])
def test_protocol_shapes_and_deterministic_embedding(kind, spatial_dims):
    torch.manual_seed(0)
    size = 16
    model = make(kind, spatial_dims, size)
    images = blobs(4, size, spatial_dims)
    out = model.training_loss(images)
    assert out["loss"].ndim == 0 and torch.isfinite(out["loss"]) and out["loss"].requires_grad
    assert all(value.ndim == 0 for value in out.values())
    model.eval()
    with torch.no_grad():
        first, second = model.embed(images), model.embed(images)
        alone = model.embed(images[1:2])
        backbone = model.encoder(images)
    assert first.shape == (4, model.embedding_dim)
    torch.testing.assert_close(first, second, rtol=0, atol=0)
    torch.testing.assert_close(alone[0], first[1])  # no coupling across the batch
    assert isinstance(model.encoder, SSLEncoder) and backbone.shape == (4, model.encoder.embedding_dim)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("spatial_dims", [2, 3])
def test_no_batch_norm_anywhere(kind, spatial_dims):
    model = make(kind, spatial_dims, 16)
    norms = [type(m).__name__ for m in model.modules() if isinstance(m, (nn.GroupNorm, nn.InstanceNorm3d))]
    assert norms, "the encoder should normalise per sample"
    assert not [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]


@pytest.mark.parametrize(
    "case",
    [
        {"kind": "context", "data": "blobs", "min_gain": 0.5},  # from chance (ln 8 = 2.08 nats): 80-87% lower
        {"kind": "simclr", "data": "gratings", "min_gain": 0.25},  # 42-77% lower over seeds 0-3
        {"kind": "vae", "data": "blobs", "min_gain": 0.6},  # the summed squared error: 87-91% lower
    ],
)
def test_loss_decreases_on_a_learnable_set(case):
    torch.manual_seed(0)
    size = 24
    if case["data"] == "blobs":  # two blobs each: where things lie is learnable
        images = blobs(8, size) + 0.3 * blobs(8, size, seed=1).flip(-1)
    else:
        images = gratings(8, size)
    losses = train(make(case["kind"], 2, size), images)
    assert all(math.isfinite(v) for v in losses)
    start, end = sum(losses[:5]) / 5, sum(losses[-5:]) / 5
    assert end < (1 - case["min_gain"]) * start, f"{case['kind']} loss {start:.3f} -> {end:.3f}"


@pytest.mark.parametrize("kind", KINDS)
def test_same_seed_gives_the_same_losses_and_the_rng_carries_on(kind):
    images = blobs(4, 16)

    def run(seed: int) -> list[float]:
        torch.manual_seed(seed)
        return train(make(kind, 2, 16), images, steps=3)

    assert run(0) == run(0)
    assert run(0) != run(1)
    torch.manual_seed(0)
    model = make(kind, 2, 16)
    with torch.no_grad():
        state = torch.get_rng_state()
        first = float(model.training_loss(images)["loss"])
        second = float(model.training_loss(images)["loss"])
        torch.set_rng_state(state)
        assert float(model.training_loss(images)["loss"]) == first  # a restored RNG redraws the same
    assert first != second  # patches, views or noise are drawn afresh each step


def test_context_classes_are_uniform_and_match_the_geometry():
    torch.manual_seed(0)
    model = ContextPrediction(3, patch_size=(5, 4, 6), gap=2, jitter=1, pairs_per_image=50, **TINY)
    images = torch.rand(40, 1, 20, 18, 22)
    pairs = model.sample_pairs(images)
    counts = torch.bincount(pairs["label"], minlength=26)
    assert model.num_classes == 26 and stats.chisquare(counts.numpy()).pvalue > 1e-3
    patch = torch.tensor([5, 4, 6])
    for key in ("anchor", "neighbour"):  # inside the image, always
        assert (pairs[key] >= 0).all() and (pairs[key] + patch <= torch.tensor([20, 18, 22])).all()
    shift, offset = pairs["neighbour"] - pairs["anchor"], neighbour_offsets(3)[pairs["label"]]
    assert (shift - offset * (patch + 2)).abs().max() == 1  # the jitter, and no more
    assert (torch.sign(shift)[offset != 0] == offset[offset != 0]).all()  # the neighbour lies where its class says


def test_context_pairs_fall_in_the_foreground():
    torch.manual_seed(0)
    images = torch.zeros(64, 1, 48, 48)
    images[:, :, 6:34, 8:36] = 1.0 + 0.1 * torch.rand(64, 1, 28, 28)  # the "head": a third of the image

    def pairs_inside(min_foreground: float) -> float:
        """Fraction of pairs whose two patches are both at least half foreground."""
        model = ContextPrediction(2, patch_size=8, gap=2, jitter=2, min_foreground=min_foreground, **TINY)
        pairs = model.sample_pairs(images)
        starts = torch.cat([pairs["anchor"], pairs["neighbour"]])
        index = torch.cat([pairs["batch_index"], pairs["batch_index"]])
        inside = extract_patches(images, index, starts, (8, 8)).flatten(1).gt(0.5).float().mean(1)
        return float((torch.minimum(*inside.view(2, -1)) >= 0.5).float().mean())

    assert pairs_inside(0.5) > 0.9  # measured 0.98
    assert pairs_inside(0.0) < 0.6  # without the check: 0.41


def test_extract_patches_equals_slicing():
    images = torch.randn(3, 2, 9, 10, 11)
    batch_index = torch.tensor([2, 0, 2])
    starts = torch.tensor([[0, 0, 0], [4, 6, 7], [1, 2, 3]])
    patches = extract_patches(images, batch_index, starts, (5, 4, 4))
    for patch, b, (x, y, z) in zip(patches, batch_index, starts.tolist(), strict=True):
        torch.testing.assert_close(patch, images[b, :, x : x + 5, y : y + 4, z : z + 4], rtol=0, atol=0)


def test_embedding_grid_covers_the_image():
    grid = grid_starts((20, 13), (6, 13), (3, 5))
    assert grid.shape == (6, 1, 2)
    covered = torch.zeros(20, 13)
    for x, y in grid.reshape(-1, 2).tolist():
        covered[x : x + 6, y : y + 13] += 1
    assert covered.min() >= 1 and grid[..., 0].max() == 14 and grid[..., 1].max() == 0


def test_grid_embedding_averages_patch_embeddings_region_by_region():
    torch.manual_seed(0)
    model = ContextPrediction(2, patch_size=6, grid_stride=3, embed_regions=2, **TINY).eval()
    images = blobs(2, 20)
    grid = grid_starts((20, 20), (6, 6), (3, 3))  # 6 x 6 patches: 3 x 3 per region
    with torch.no_grad():
        embedding = model.embed(images)
        corner = grid[:3, 3:].reshape(-1, 2)  # first region along x, second along y
        patches = extract_patches(images, torch.zeros(len(corner), dtype=torch.long), corner, (6, 6))
        expected = model.encoder(patches).mean(dim=0)
    assert embedding.shape == (2, 4 * 16) == (2, model.embedding_dim)
    torch.testing.assert_close(embedding[0, 16:32], expected)  # regions in row-major order: (0, 1) is the second


def test_context_embedding_of_the_whole_image_mode():
    model = ContextPrediction(2, patch_size=6, embed_mode="image", **TINY).eval()
    assert model.embed(blobs(2, 20)).shape == (2, 16) == (2, model.embedding_dim)


def test_vae_decodes_the_mean_in_eval_and_samples_in_training():
    torch.manual_seed(0)
    model = WholeImageVAE(3, (1, 10, 13, 7), latent_size=4, channels=(8, 16), strides=(2, 2)).eval()
    images = torch.rand(3, 1, 10, 13, 7)  # odd sizes round-trip exactly
    with torch.no_grad():
        out = model(images)
        mu, _ = model.encode(images)
        torch.testing.assert_close(out["z"], mu)
        torch.testing.assert_close(out["recon"], model.decode(mu))
        torch.testing.assert_close(model.embed(images), mu)
        assert out["recon"].shape == images.shape
        assert not torch.equal(model(images, sample=True)["z"], mu)


def test_simclr_views_differ_and_accuracy_counts_partners():
    torch.manual_seed(0)
    images = blobs(4, 20, 3)
    views = BatchAugment(spatial_dims=3)(images)
    assert type(views) is torch.Tensor and views.shape == images.shape and views.dtype == images.dtype
    assert not torch.allclose(views, images)
    torch.manual_seed(0)
    torch.testing.assert_close(BatchAugment(spatial_dims=3)(images), views, rtol=0, atol=0)
    first = torch.eye(3)
    assert float(positive_pair_accuracy(first, first + 0.01)) == 1.0
    assert float(positive_pair_accuracy(first, first.roll(1, 0))) == 0.0


@pytest.mark.parametrize(
    "case",
    [
        {"build": lambda: SSLEncoder(4), "match": "spatial_dims must be 2 or 3, got 4"},
        {"build": lambda: SSLEncoder(2, norm="batch"), "match": "norm must be per-sample"},
        {
            "build": lambda: SSLEncoder(2, channels=(12, 24), strides=(2, 2)),
            "match": "num_groups dividing every channel count",
        },
        {"build": lambda: SSLEncoder(2, strides=(2,)), "match": "strides must have one entry per channel stage"},
        {"build": lambda: SSLEncoder(2, embedding_dim=0), "match": "must be >= 1"},
        {"build": lambda: SSLEncoder(2, pool_size=(2, 2, 2)), "match": r"pool_size \(2 sizes\) must be >= 1"},
        {"build": lambda: ContextPrediction(2, embed_mode="flat"), "match": "embed_mode must be one of"},
        {"build": lambda: ContextPrediction(2, patch_size=(4, 4, 4)), "match": "patch_size must be"},
        {"build": lambda: ContextPrediction(2, pairs_per_image=0), "match": "must be >= 1"},
        {"build": lambda: ContextPrediction(2, grid_stride=0), "match": "grid_stride and embed_regions must be >= 1"},
        {"build": lambda: ContextPrediction(2, embed_regions=0), "match": "grid_stride and embed_regions must be >= 1"},
        {"build": lambda: SimCLR(2, temperature=0.0), "match": "temperature > 0"},
        {"build": lambda: WholeImageVAE(2, (1, 16)), "match": r"in_shape must be \(C, 2 spatial sizes\)"},
        {"build": lambda: WholeImageVAE(2, (1, 16, 16), beta=-1.0), "match": "beta >= 0"},
    ],
)
def test_bad_configuration_is_refused(case):
    with pytest.raises(ConfigError, match=case["match"]):
        case["build"]()


def test_bad_inputs_are_refused():
    context = ContextPrediction(2, patch_size=8, gap=2, jitter=2, **TINY)
    with pytest.raises(ConfigError, match=r"too small for patch_size \(8, 8\), gap 2 and jitter 2: .* \(20, 20\)"):
        context.training_loss(torch.rand(2, 1, 19, 40))
    with pytest.raises(ConfigError, match=r"too small for patch_size \(8, 8\): each side must be at least \(8, 8\)"):
        context.embed(torch.rand(2, 1, 7, 40))
    with pytest.raises(ValueError, match=r"images must have shape \(B, C, 2 spatial dims\), got \(2, 1, 40, 40, 40\)"):
        context.training_loss(torch.rand(2, 1, 40, 40, 40))
    with pytest.raises(ValueError, match="at least 2 images per batch"):
        SimCLR(2, **TINY).training_loss(torch.rand(1, 1, 16, 16))
    with pytest.raises(ValueError, match=r"images must have shape \(B, 1, 16, 16\), got \(2, 1, 16, 17\)"):
        WholeImageVAE(2, (1, 16, 16), channels=(8, 16), strides=(2, 2)).training_loss(torch.rand(2, 1, 16, 17))
    with pytest.raises(ValueError, match=r"images must have shape \(B, 1, 2 spatial dims\)"):
        SSLEncoder(2, **TINY)(torch.rand(2, 1, 16, 16, 16))
