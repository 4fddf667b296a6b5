import pytest
import torch
from torch import nn

from medmonai.engines import AnomalySegmentationTrainer
from medmonai.keys import Keys


class Logits(nn.Module):
    """Returns the input itself as logits, plus a zero parameter so the optimizer has work."""

    def __init__(self):
        super().__init__()
        self.zero = nn.Parameter(torch.zeros(()))

    def forward(self, x):
        return x + self.zero


def test_the_step_scores_the_networks_logits_on_the_corrupted_batch_against_the_corruptions_target():
    network = Logits()
    seen = []

    def loss(logits, target):
        seen.append((logits.detach().clone(), target.clone()))
        return nn.functional.mse_loss(logits, target)

    batches = [{Keys.IMAGE: torch.zeros(2, 1, 4, 4, 4)}]
    trainer = AnomalySegmentationTrainer(
        device="cpu",
        max_epochs=1,
        train_data_loader=batches,
        network=network,
        optimizer=torch.optim.SGD(network.parameters(), lr=0.0),
        loss_function=loss,
        corruption=lambda x: (x + 2.0, torch.full_like(x, 0.5)),
    )
    trainer.run()
    logits, target = seen[0]
    assert torch.equal(logits, torch.full((2, 1, 4, 4, 4), 2.0)) and torch.equal(target, torch.full_like(target, 0.5))
    assert trainer.state.output[Keys.LOSS].item() == pytest.approx(1.5**2)


def test_a_segmenter_needs_a_corruption():
    with pytest.raises(TypeError, match="needs a corruption"):
        AnomalySegmentationTrainer(device="cpu", max_epochs=1, train_data_loader=[], network=Logits(), optimizer=None)
