import pytest
import torch
from torch import nn

from medmonai.errors import ConfigError
from medmonai.networks import DCGANVAE


def test_reference_shape_five_blocks_each_way_and_no_linear_layer():
    network = DCGANVAE(image_size=128, latent_size=300)
    strided = [m for m in network.encoder.modules() if isinstance(m, nn.Conv2d)]
    assert len(strided) == 5 and all(m.stride == (2, 2) for m in strided)
    upsampling = [m for m in network.decoder.modules() if isinstance(m, nn.ConvTranspose2d) and m.stride == (2, 2)]
    assert len(upsampling) == 5
    assert isinstance(network.mu, nn.Conv2d) and isinstance(network.logvar, nn.Conv2d)
    assert not any(isinstance(m, nn.Linear) for m in network.modules())
    out = network(torch.rand(2, 1, 128, 128))
    assert out["recon"].shape == (2, 1, 128, 128) and out["mu"].shape == (2, 300)
    assert 0.0 <= out["recon"].min() and out["recon"].max() <= 1.0


def test_decodes_the_mean_in_eval_and_samples_in_training():
    torch.manual_seed(0)
    network = DCGANVAE(image_size=32, latent_size=8).eval()
    x = torch.rand(2, 1, 32, 32)
    with torch.no_grad():
        out = network(x)
        assert torch.equal(out["z"], out["mu"])
        assert not torch.equal(network(x, sample=True)["z"], out["mu"])


def test_rejects_sizes_that_do_not_halve_down_to_4():
    with pytest.raises(ConfigError, match="image_size must be a power of two >= 8 and latent_size >= 1, got 100"):
        DCGANVAE(image_size=100)
