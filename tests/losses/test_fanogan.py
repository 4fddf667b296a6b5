"""f-AnoGAN's encoder loss on constructed residuals."""

import pytest
import torch

from medmonai.losses import IziFLoss, fanogan_residual


def test_residual_is_pixel_mse_plus_kappa_feature_mse_per_image():
    images = torch.zeros(2, 1, 2, 2)
    recon = torch.stack([torch.full((1, 2, 2), 1.0), torch.full((1, 2, 2), 2.0)])  # pixel MSE 1 and 4
    real, fake = torch.zeros(2, 3), torch.tensor([[3.0, 0, 0], [0, 0, 0]])  # feature MSE 3 and 0
    assert fanogan_residual(recon, images, real, fake, kappa=2.0).tolist() == pytest.approx([1 + 2 * 3, 4 + 0])
    assert IziFLoss(kappa=2.0)(recon, images, real, fake).item() == pytest.approx((7 + 4) / 2)
    assert IziFLoss.output_keys == ("recon", "features_real", "features_fake")
