import pytest
import torch
from monai.inferers import SlidingWindowInferer
from torch import nn

from medmonai.errors import ConfigError, DataError
from medmonai.networks import ConvAE
from medmonai.scoring import (
    AnomalyProbability,
    IntensityScore,
    ReconstructionResidual,
    SlidingWindowMapper,
    window_scorer,
)


class Pointwise(nn.Module):
    """A 1x1x1 conv 'autoencoder': its output at a voxel depends on that voxel only."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.conv = nn.Conv3d(1, 1, 1)

    def forward(self, x):
        return {"recon": self.conv(x)}


@pytest.mark.parametrize(
    "case",
    [
        dict(mode="gaussian", overlap=0.25),  # blended overlapping windows
        dict(mode="constant", overlap=0.5),  # averaged overlapping windows
        dict(mode="constant", overlap=0.0),  # tiles
    ],
)
def test_sliding_window_map_equals_a_full_volume_forward_pass(case):
    volume = torch.rand(1, 1, 23, 19, 17)
    scorer = ReconstructionResidual(Pointwise(), "absolute")
    mapper = SlidingWindowMapper(scorer, (8, 8, 8), sw_batch_size=3, **case)
    with torch.no_grad():
        direct = scorer(volume)
    assert torch.allclose(mapper(volume), direct, atol=1e-6)


def test_a_window_as_large_as_the_volume_equals_the_direct_pass_of_a_real_autoencoder():
    torch.manual_seed(0)
    network = ConvAE(3).eval()
    volume = torch.rand(1, 1, 16, 16, 16)
    scorer = ReconstructionResidual(network, "absolute")
    with torch.no_grad():
        direct = (volume - network(volume)["recon"]).abs()
    assert torch.allclose(SlidingWindowMapper(scorer, (16, 16, 16))(volume), direct, atol=1e-6)


def test_matches_monai_stock_inferer():
    torch.manual_seed(0)
    scorer = ReconstructionResidual(ConvAE(3).eval(), "positive")
    volume = torch.rand(1, 1, 40, 36, 33)
    stock = SlidingWindowInferer((16, 16, 16), sw_batch_size=4, overlap=0.25, mode="gaussian")
    with torch.no_grad():
        expected = stock(volume, scorer)
    assert torch.allclose(SlidingWindowMapper(scorer, (16, 16, 16), sw_batch_size=4)(volume), expected, atol=1e-5)


@pytest.mark.parametrize(
    "kind, expected",
    [
        ("absolute", lambda x, r: (x - r).abs()),
        ("positive", lambda x, r: (x - r).clamp_min(0)),
    ],
)
def test_residual_kinds(kind, expected):
    x = torch.tensor([[[[[0.2, 0.8]]]]])
    recon = torch.tensor([[[[[0.5, 0.5]]]]])
    scorer = ReconstructionResidual(lambda_module(recon), kind)
    assert torch.allclose(scorer(x), expected(x, recon))


def test_elbo_map_spreads_the_window_kl_over_its_voxels():
    x = torch.zeros(1, 1, 2, 1, 1)
    out = {"recon": torch.ones(1, 1, 2, 1, 1), "mu": torch.ones(1, 3), "logvar": torch.zeros(1, 3)}
    scorer = ReconstructionResidual(lambda_module(out), "elbo")
    # 0.5 * (0 - 1)^2 + KL / 2 voxels, KL = 0.5 * sum(mu^2) = 1.5
    assert torch.allclose(scorer(x), torch.full((1, 1, 2, 1, 1), 0.5 + 0.75))


def test_elbo_map_needs_a_vae():
    with pytest.raises(ConfigError, match="map kind 'elbo' needs a VAE"):
        ReconstructionResidual(Pointwise(), "elbo")(torch.rand(1, 1, 2, 2, 2))


def test_unknown_kind_and_window_settings():
    with pytest.raises(
        ConfigError,
        match=r"map kind of a reconstruction model must be one of \('absolute', 'positive', 'elbo'\), got 'abs'",
    ):
        ReconstructionResidual(Pointwise(), "abs")
    with pytest.raises(ConfigError, match="overlap must be in"):
        SlidingWindowMapper(IntensityScore(), (4, 4, 4), overlap=1.0)


def test_intensity_score_is_the_image_and_ignores_the_window():
    volume = torch.rand(1, 1, 5, 6, 7)
    assert torch.equal(SlidingWindowMapper(IntensityScore(), (64, 64, 64))(volume), volume)


def test_roi_larger_than_the_volume_names_the_file():
    mapper = SlidingWindowMapper(ReconstructionResidual(Pointwise()), (32, 32, 32))
    with pytest.raises(DataError, match=r"^/data/a\.nii\.gz: roi_size \(32, 32, 32\) is larger than the volume"):
        mapper(torch.rand(1, 1, 40, 40, 20), "/data/a.nii.gz")


def lambda_module(output):
    class Fixed(nn.Module):
        def forward(self, x):
            return output

    return Fixed()


def test_a_segmenter_maps_its_sigmoid_probability():
    network = torch.nn.Identity()
    scorer = window_scorer(network, "probability")
    x = torch.tensor([-10.0, 0.0, 10.0]).view(1, 1, 3, 1, 1)
    out = scorer(x)
    assert isinstance(scorer, AnomalyProbability)
    torch.testing.assert_close(out, torch.sigmoid(x))
    assert isinstance(window_scorer(network, "positive"), ReconstructionResidual)
    with pytest.raises(ConfigError, match="must be one of"):
        window_scorer(network, "ssim")
