import pytest
import torch

from medmonai.errors import ConfigError
from medmonai.networks import BottleneckConvAE, ReferenceConvAE


@pytest.mark.parametrize("size", [28, 64])
def test_reference_ae_has_no_bottleneck_and_outputs_probabilities(size):
    network = ReferenceConvAE()
    x = torch.rand(3, 1, size, size)
    code = network.encoder(x)
    assert code.shape == (3, 16, size // 4, size // 4)
    assert code[0].numel() == x[0].numel()  # 784 values for a 28x28 image: as many as the input
    recon = network(x)["recon"]
    assert recon.shape == x.shape and 0.0 <= recon.min() and recon.max() <= 1.0


def test_bottleneck_ae_squeezes_the_image_into_its_code():
    network = BottleneckConvAE(image_size=28, latent_size=8)
    out = network(torch.rand(3, 1, 28, 28))
    assert out["z"].shape == (3, 8) and out["recon"].shape == (3, 1, 28, 28)
    assert 0.0 <= out["recon"].min() and out["recon"].max() <= 1.0


def test_bottleneck_ae_validates_its_shape():
    with pytest.raises(ConfigError, match="image_size must be divisible by 4 and latent_size >= 1, got 30 and 8"):
        BottleneckConvAE(image_size=30)
