"""f-AnoGAN's network: frozen generator and discriminator, and scores that do not depend on the batch."""

import torch
from torch import nn

from medmonai.keys import Keys
from medmonai.networks import IziFNetwork
from medmonai.networks.gan import grouped_discriminator


class BatchDependentDiscriminator(nn.Module):
    """Like minibatch std over groups of 4: every output moves with its group's spread."""

    def __init__(self):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(1))

    @staticmethod
    def spread(x):
        return x.view(-1, 4, *x.shape[1:]).std(1).mean((1, 2, 3)).repeat_interleave(4)

    def forward(self, x):
        return self.weight * x.mean((1, 2, 3)) + self.spread(x)

    def features(self, x):
        return x.flatten(1) + self.spread(x)[:, None]


def izif(reference=None):
    encoder = nn.Sequential(nn.Flatten(), nn.Linear(16, 4))
    generator = nn.Sequential(nn.Linear(4, 16), nn.Unflatten(1, (1, 4, 4)))
    return IziFNetwork(encoder, generator, BatchDependentDiscriminator(), reference=reference, group_size=4)


def test_only_the_encoder_trains_and_outputs_have_their_shapes():
    network = izif().train()
    assert not network.generator.training and not network.discriminator.training and network.encoder.training
    assert all(not p.requires_grad for p in [*network.generator.parameters(), *network.discriminator.parameters()])
    out = network(torch.rand(8, 1, 4, 4))
    assert out[Keys.RECON].shape == (8, 1, 4, 4) and out[Keys.Z].shape == (8, 4)
    assert out["features_real"].shape == out["features_fake"].shape == (8, 16)


def test_grouping_with_reference_images_makes_each_score_independent_of_its_batch():
    torch.manual_seed(0)
    x, others, reference = torch.rand(1, 1, 4, 4), torch.rand(3, 1, 4, 4), torch.rand(3, 1, 4, 4)
    d = BatchDependentDiscriminator()
    alone = grouped_discriminator(d, x, reference)
    batched = grouped_discriminator(d, torch.cat([x, others]), reference)
    assert torch.allclose(alone[0], batched[0])
    ungrouped = [d(torch.cat([x, o]))[0] for o in (others, reference)]
    assert not torch.allclose(*ungrouped)  # ungrouped, the other images of the batch move its score
    dataset = [{Keys.IMAGE: image} for image in reference]  # a dataset of items, as the config passes it
    assert torch.equal(izif(dataset).eval().reference, reference)
