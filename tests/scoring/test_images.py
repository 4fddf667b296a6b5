"""Per-image scores and pixel maps of reconstruction models agree with each other."""

from __future__ import annotations

import pytest
import torch

from medmonai.scoring import error_map, reconstruction_error


@pytest.mark.parametrize("kind", ["bce", "mse", "l1"])
def test_the_error_map_averages_to_the_image_score(kind):
    torch.manual_seed(0)
    target = torch.rand(3, 2, 8, 6)
    recon = torch.rand(3, 2, 8, 6).clamp(0.01, 0.99)
    recon[1] = target[1]  # a perfect reconstruction scores lowest
    maps = error_map(recon, target, kind)
    assert maps.shape == (3, 8, 6)
    torch.testing.assert_close(maps.flatten(1).mean(1), reconstruction_error(recon, target, kind))
    if kind == "l1":  # channels averaged, per pixel
        torch.testing.assert_close(maps, (recon - target).abs().mean(1))
    assert maps[1].sum() < maps[0].sum()
