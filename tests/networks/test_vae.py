import pytest
import torch

from medmonai.errors import ConfigError
from medmonai.keys import Keys
from medmonai.networks import VAE


@pytest.mark.parametrize(
    "case",
    [
        {"spatial_dims": 2, "in_shape": (1, 28, 28), "latent": 2},  # the mnist_vae_latent default
        {"spatial_dims": 2, "in_shape": (3, 32, 16), "latent": 5},  # multi-channel, non-square
        {"spatial_dims": 3, "in_shape": (1, 16, 16, 8), "latent": 4},  # 3D
    ],
)
def test_vae_output_shapes(case):
    net = VAE(case["spatial_dims"], case["in_shape"], case["latent"], channels=(4, 8), strides=(2, 2))
    out = net(torch.rand(2, *case["in_shape"]))
    assert set(out) == {Keys.RECON, Keys.MU, Keys.LOGVAR, Keys.Z}
    assert out[Keys.RECON].shape == (2, *case["in_shape"])
    assert out[Keys.MU].shape == out[Keys.LOGVAR].shape == out[Keys.Z].shape == (2, case["latent"])
    assert 0.0 <= out[Keys.RECON].min() and out[Keys.RECON].max() <= 1.0


def test_eval_decodes_the_posterior_mean():
    """MONAI #8413: in eval mode the VAE must decode mu, not mu + std."""
    torch.manual_seed(0)
    net = VAE(2, (1, 28, 28), 3).eval()
    x = torch.rand(4, 1, 28, 28)
    with torch.no_grad():
        first, second = net(x), net(x)
        mu, _ = net.encode(x)
        torch.testing.assert_close(first[Keys.Z], mu)
        torch.testing.assert_close(first[Keys.RECON], net.decode(mu))
        torch.testing.assert_close(first[Keys.RECON], second[Keys.RECON])


def test_training_and_explicit_sampling_draw_z():
    torch.manual_seed(0)
    net = VAE(2, (1, 28, 28), 3)
    x = torch.rand(4, 1, 28, 28)
    assert not torch.equal(net.train()(x)[Keys.Z], net(x)[Keys.Z])
    with torch.no_grad():
        sampled = net.eval()(x, sample=True)
    assert not torch.equal(sampled[Keys.Z], sampled[Keys.MU])


@pytest.mark.parametrize("latent", [0, -3, 2.5, True])
def test_latent_size_must_be_positive_integer(latent):
    with pytest.raises(ConfigError, match="latent_size must be a positive integer"):
        VAE(2, (1, 28, 28), latent)


def test_spatial_size_must_divide_by_strides():
    with pytest.raises(ConfigError, match=r"spatial size \(30, 30\) must be divisible by the product of strides 4"):
        VAE(2, (1, 30, 30), 2, strides=(2, 2))


def test_in_shape_must_match_spatial_dims():
    with pytest.raises(ConfigError, match=r"in_shape must be \(C, 3 spatial dims\)"):
        VAE(3, (1, 28, 28), 2)
