import pytest
import torch

from medmonai.errors import ConfigError
from medmonai.transforms import CoarseNoise


@pytest.mark.parametrize("shape", [(4, 1, 32, 32, 32), (4, 1, 64, 48)])
def test_coarse_noise_is_smooth_with_the_requested_std(shape):
    torch.manual_seed(0)
    x = torch.zeros(shape)
    noise = CoarseNoise(std=0.3, scale=8)(x)
    assert noise.shape == x.shape
    assert 0.15 < noise.std() < 0.35  # interpolation smooths the per-node std a little
    step = (noise[..., 1:] - noise[..., :-1]).abs().mean()
    assert step < 0.3 * noise.abs().mean()  # white noise would give ~1.1: this is low-frequency noise


def test_zero_std_is_the_identity_and_seeded_draws_repeat():
    x = torch.rand(2, 1, 8, 8, 8)
    assert CoarseNoise(std=0.0)(x) is x
    torch.manual_seed(1)
    a = CoarseNoise()(x)
    torch.manual_seed(1)
    assert torch.equal(a, CoarseNoise()(x))


def test_rejects_bad_settings():
    with pytest.raises(ConfigError, match="CoarseNoise needs std >= 0 and scale >= 1, got std=-1"):
        CoarseNoise(std=-1)
