import pytest
import torch
from ignite.engine import Events
from torch import nn
from torch.utils.data import DataLoader

from medmonai.apps.population import reinitialised
from medmonai.engines import SelfSupervisedObjective, SelfSupervisedTrainer
from medmonai.networks import SSLEncoder


class _Denoiser(nn.Module):
    """A tiny self-supervised model: restore images from a noisy copy; its embedding is the hidden layer's mean."""

    def __init__(self):
        super().__init__()
        self.layer = nn.Conv2d(1, 1, 3, padding=1)

    def training_loss(self, images):
        loss = ((self.layer(images + 0.1 * torch.randn_like(images)) - images) ** 2).mean()
        return {"loss": loss, "noise_free": torch.tensor(0.0)}

    def embed(self, images):
        return self.layer(images).flatten(1).mean(1, keepdim=True)


def test_the_trainer_runs_monais_step_on_the_models_own_loss():
    torch.manual_seed(0)
    images = [{"image": torch.rand(1, 8, 8)} for _ in range(32)]
    model = _Denoiser()
    network = SelfSupervisedObjective(model)
    optimizer = torch.optim.Adam(network.parameters(), lr=0.05)
    losses = []
    trainer = SelfSupervisedTrainer(
        device="cpu",
        max_epochs=8,
        train_data_loader=DataLoader(images, batch_size=8),
        network=network,
        optimizer=optimizer,
    )
    trainer.add_event_handler(Events.ITERATION_COMPLETED, lambda e: losses.append(float(e.state.output["loss"])))
    trainer.run()
    assert len(losses) == 32 and sum(losses[-4:]) < 0.5 * sum(losses[:4])
    assert set(trainer.state.output["pred"]) == {"loss", "noise_free"}  # the model's dict, undecollated


def test_only_a_self_supervised_objective_is_trained():
    with pytest.raises(TypeError, match="no training_loss"):
        SelfSupervisedObjective(nn.Linear(2, 2))
    with pytest.raises(TypeError, match="drives a SelfSupervisedObjective"):
        SelfSupervisedTrainer(device="cpu", max_epochs=1, train_data_loader=[], network=nn.Linear(2, 2), optimizer=None)


def test_reinitialised_keeps_the_architecture_and_draws_new_weights():
    encoder = SSLEncoder(2, embedding_dim=4, channels=(8, 8), strides=(2, 2))
    fresh = reinitialised(encoder, seed=1)
    assert [p.shape for p in fresh.parameters()] == [p.shape for p in encoder.parameters()]
    assert not torch.equal(fresh.head.weight, encoder.head.weight)
    assert torch.equal(reinitialised(encoder, seed=1).head.weight, fresh.head.weight)  # seeded
