import pytest
import torch

from medmonai.errors import ConfigError
from medmonai.networks import ConvAE, SliceWise


@pytest.mark.parametrize(
    "case",
    [
        dict(spatial_dims=3, shape=(2, 1, 16, 24, 8), skip_connections=True, strides=(2, 2)),  # denoising UNet
        dict(spatial_dims=3, shape=(2, 1, 16, 16, 16), skip_connections=False, strides=(2, 2, 2)),  # bottleneck AE
        dict(spatial_dims=2, shape=(3, 1, 32, 16), skip_connections=True, strides=(2, 2)),
    ],
)
def test_conv_ae_returns_a_reconstruction_of_the_input_shape(case):
    network = ConvAE(case["spatial_dims"], skip_connections=case["skip_connections"], strides=case["strides"])
    out = network(torch.rand(case["shape"]))
    assert set(out) == {"recon"} and out["recon"].shape == case["shape"]


def test_residual_conv_ae_starts_near_the_identity_and_plain_does_not():
    torch.manual_seed(0)
    x = torch.rand(2, 1, 16, 16, 16)
    residual = ConvAE(3, residual=True).eval()
    plain = ConvAE(3, residual=False).eval()
    with torch.no_grad():
        assert torch.allclose(residual(x)["recon"] - residual.net(x), x)
        assert not torch.allclose(plain(x)["recon"], x, atol=0.1)


def test_conv_ae_validates_its_configuration():
    with pytest.raises(ConfigError, match=r"strides must have 2 entries for channels \(16, 32, 64\)"):
        ConvAE(3, strides=(2, 2, 2))
    with pytest.raises(ConfigError, match="spatial_dims must be 2 or 3, got 4"):
        ConvAE(4)


def test_slice_wise_applies_the_2d_network_to_every_axial_slice():
    torch.manual_seed(0)
    network2d = ConvAE(2).eval()
    wrapped = SliceWise(network2d)
    x = torch.rand(2, 1, 16, 16, 5)
    with torch.no_grad():
        out = wrapped(x)["recon"]
        for b in range(2):
            for z in range(5):
                expected = network2d(x[b : b + 1, :, :, :, z])["recon"][0]
                assert torch.allclose(out[b, :, :, :, z], expected, atol=1e-6)


def test_slice_wise_needs_5d_input():
    with pytest.raises(ValueError, match=r"SliceWise input must be \(B, C, X, Y, Z\), got shape \(1, 1, 8, 8\)"):
        SliceWise(ConvAE(2))(torch.rand(1, 1, 8, 8))
