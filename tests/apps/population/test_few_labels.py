"""Few-label fine-tuning runs on MONAI's SupervisedTrainer and trains exactly as the plain loop it replaced."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
from sklearn.metrics import r2_score
from torch import nn

from medmonai.apps.population import finetune_regressor
from medmonai.apps.population.embed import embed_rows
from medmonai.apps.population.few_labels import _Regressor

EMBEDDING_DIM = 4
IMAGES = np.random.default_rng(0).normal(size=(40, 1, 8, 8)).astype(np.float32)
TARGETS = IMAGES.mean(axis=(1, 2, 3)) * 10 + np.random.default_rng(1).normal(scale=0.1, size=40)


def encoder() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(1, 4, 3),
        nn.BatchNorm2d(4),
        nn.ReLU(),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(4, EMBEDDING_DIM),
    )


def plain_loop(model_encoder, rows, test, steps, batch_size, learning_rate, seed) -> float:
    """The loop ``finetune_regressor`` ran before it moved onto an engine, kept as the reference."""
    images = IMAGES.__getitem__
    generator = torch.Generator().manual_seed(seed)
    model = _Regressor(model_encoder, EMBEDDING_DIM)
    optimizer = torch.optim.Adam(model.parameters(), lr=learning_rate)
    mean, std = float(TARGETS[rows].mean()), float(TARGETS[rows].std() or 1.0)
    scaled = torch.as_tensor((TARGETS - mean) / std, dtype=torch.float32)
    model.train()
    for _ in range(steps):
        pick = rows[torch.randint(len(rows), (min(batch_size, len(rows)),), generator=generator).numpy()]
        x = torch.as_tensor(images(pick), dtype=torch.float32)
        loss = nn.functional.mse_loss(model(x), scaled[pick])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    predicted = embed_rows(model, images, test, batch_size, "cpu", method=None) * std + mean
    return float(r2_score(TARGETS[test], predicted))


@pytest.mark.parametrize("n_labels", [3, 30])  # fewer labels than a batch, and more
def test_the_engine_trains_exactly_as_the_plain_loop(n_labels):
    rows, test = np.arange(n_labels), np.arange(30, 40)
    settings = {"steps": 7, "batch_size": 8, "learning_rate": 1e-2, "seed": 5}
    engine_encoder, loop_encoder = encoder(), encoder()
    torch.manual_seed(9)  # the linear head's initial weights
    r2 = finetune_regressor(
        engine_encoder, EMBEDDING_DIM, IMAGES.__getitem__, TARGETS, rows, test, device=torch.device("cpu"), **settings
    )
    torch.manual_seed(9)
    assert r2 == plain_loop(loop_encoder, rows, test, **settings)  # same draws, same steps: bit for bit
    trained, untouched = engine_encoder.state_dict(), encoder().state_dict()
    assert all(torch.equal(trained[k], loop_encoder.state_dict()[k]) for k in trained)
    assert not all(torch.equal(trained[k], untouched[k]) for k in trained)  # it did train


def test_zero_steps_leave_the_encoder_untrained():
    tuned = encoder()
    before = copy.deepcopy(tuned.state_dict())
    with pytest.warns(UserWarning, match="epoch_length"):
        finetune_regressor(
            tuned,
            EMBEDDING_DIM,
            IMAGES.__getitem__,
            TARGETS,
            np.arange(10),
            np.arange(30, 40),
            0,
            8,
            1e-2,
            torch.device("cpu"),
            0,
        )
    assert all(torch.equal(tuned.state_dict()[k], v) for k, v in before.items())
