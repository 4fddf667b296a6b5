"""The VAE protocol every VAE shares: encode, reparameterize, decode, sample."""

import pytest
import torch

from medmonai.networks import DCGANVAE, VAE, VariationalAutoencoder


@pytest.mark.parametrize(
    "network",
    [VAE(spatial_dims=2, in_shape=[1, 28, 28], latent_size=3, channels=[8, 16], strides=[2, 2]), DCGANVAE(32, 4, 8)],
    ids=["VAE", "DCGANVAE"],
)
def test_vaes_share_one_protocol(network):
    assert isinstance(network, VariationalAutoencoder)
    network.eval()
    x = torch.rand(2, 1, *((28, 28) if isinstance(network, VAE) else (32, 32)))
    out = network(x)
    assert torch.equal(out["z"], out["mu"])  # eval: the posterior mean
    torch.manual_seed(0)
    drawn = network(x, sample=True)["z"]
    torch.manual_seed(0)
    assert torch.equal(drawn, network.reparameterize(out["mu"], out["logvar"]))  # one reparameterisation
    samples = network.sample(5, torch.Generator().manual_seed(1))
    assert samples.shape == (5, *x.shape[1:]) and 0.0 <= samples.min() and samples.max() <= 1.0
    again = network.sample(5, torch.Generator().manual_seed(1))
    assert torch.equal(samples, again)
