import numpy as np
import pytest
import torch
from ignite.engine import Engine
from monai.transforms import Compose, RandSpatialCropd
from torch import nn

from medmonai.engines import ReconstructionTrainer
from medmonai.handlers import EpochReseed
from medmonai.keys import Keys


class Identity(nn.Module):
    """Returns its input as the reconstruction, plus a zero-valued parameter so the optimizer has work."""

    def __init__(self):
        super().__init__()
        self.zero = nn.Parameter(torch.zeros(()))

    def forward(self, x):
        return {Keys.RECON: x + self.zero}


def test_denoising_step_scores_the_reconstruction_of_the_corrupted_input_against_the_clean_one():
    network = Identity()
    batches = [{Keys.IMAGE: torch.zeros(2, 1, 4, 4)}]
    trainer = ReconstructionTrainer(
        device="cpu",
        max_epochs=1,
        train_data_loader=batches,
        network=network,
        optimizer=torch.optim.SGD(network.parameters(), lr=0.0),
        loss_function=nn.MSELoss(),
        corruption=lambda x: x + 1.0,
    )
    trainer.run()
    # the identity reproduces the corrupted input exactly, so the loss is the corruption itself: (1 - 0)^2
    assert trainer.state.output[Keys.LOSS].item() == 1.0
    assert torch.equal(trainer.state.output[Keys.LABEL], batches[0][Keys.IMAGE])  # the target: the clean batch
    assert torch.equal(trainer.state.output[Keys.IMAGE], batches[0][Keys.IMAGE] + 1.0)  # what the network saw


def draws(epoch):
    crop = Compose([RandSpatialCropd("image", (2, 2), random_size=False)])
    engine = Engine(lambda e, b: None)
    engine.state.epoch = epoch
    EpochReseed(crop, seed=3).epoch_started(engine)
    image = np.arange(64, dtype=float).reshape(1, 8, 8)
    return [crop({"image": image})["image"].tolist() for _ in range(3)]


def test_epoch_reseed_makes_an_epoch_draws_depend_on_seed_and_epoch_only():
    assert draws(5) == draws(5)  # a resumed run at epoch 5 draws what an uninterrupted run drew
    assert draws(5) != draws(6)


class TinyVAE(nn.Module):
    def __init__(self):
        super().__init__()
        self.scale = nn.Parameter(torch.ones(()))

    def forward(self, x):
        mu = x.flatten(1)[:, :2] * self.scale
        return {Keys.RECON: torch.sigmoid(x * self.scale), Keys.MU: mu, Keys.LOGVAR: torch.zeros_like(mu)}


def test_the_step_is_monais_own_and_fires_every_iteration_event():
    from monai.engines.utils import IterationEvents

    from medmonai.losses import ELBOLoss

    network = TinyVAE()
    batches = [{Keys.IMAGE: torch.rand(2, 1, 4, 4)} for _ in range(3)]
    trainer = ReconstructionTrainer(
        device="cpu",
        max_epochs=1,
        train_data_loader=batches,
        network=network,
        optimizer=torch.optim.SGD(network.parameters(), lr=0.1),
        loss_function=ELBOLoss("mse"),  # declares recon, mu and logvar as its inputs
    )
    fired = []
    for event in (
        IterationEvents.FORWARD_COMPLETED,
        IterationEvents.LOSS_COMPLETED,
        IterationEvents.BACKWARD_COMPLETED,
        IterationEvents.MODEL_COMPLETED,
    ):
        trainer.add_event_handler(event, lambda e, name=event.name: fired.append(name))
    trainer.run()
    assert fired == ["FORWARD_COMPLETED", "LOSS_COMPLETED", "BACKWARD_COMPLETED", "MODEL_COMPLETED"] * 3
    out = trainer.state.output
    expected = ELBOLoss("mse")(
        out[Keys.PRED][Keys.RECON], batches[-1][Keys.IMAGE], out[Keys.PRED][Keys.MU], out[Keys.PRED][Keys.LOGVAR]
    )
    assert out[Keys.LOSS].item() == pytest.approx(expected.item())
    assert network.scale.item() != 1.0  # the optimizer stepped
