"""GAN anomaly scores: -D(x), f-AnoGAN's score and its pixel map, on constructed inputs."""

import pytest
import torch
from torch import nn

from medmonai.keys import Keys
from medmonai.scoring import discriminator_anomaly_scores, fanogan_maps, fanogan_scores


class MeanDiscriminator(nn.Module):
    def forward(self, x):
        return x.mean((1, 2, 3))


def test_discriminator_score_is_minus_its_output():
    images = torch.stack([torch.full((1, 2, 2), v) for v in (0.5, -1.0)])
    assert discriminator_anomaly_scores(MeanDiscriminator(), images).tolist() == [-0.5, 1.0]


def test_fanogan_score_and_map():
    images = torch.zeros(1, 2, 2, 2)
    recon = torch.zeros(1, 2, 2, 2)
    recon[0, 0, 0, 0], recon[0, 1, 0, 0] = 2.0, -4.0  # one pixel off in both channels
    output = {Keys.RECON: recon, "features_real": torch.ones(1, 2), "features_fake": torch.zeros(1, 2)}
    assert fanogan_scores(output, images, kappa=0.5).item() == pytest.approx((4 + 16) / 8 + 0.5 * 1.0)
    assert fanogan_maps(output, images).tolist() == [[[3.0, 0.0], [0.0, 0.0]]]  # |x - G(E(x))|, channel mean
