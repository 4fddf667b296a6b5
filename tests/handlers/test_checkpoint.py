import io
import random

import numpy as np
import pytest
import torch

from medmonai.errors import CheckpointError
from medmonai.handlers import ModelExporter, RNGState, latest_checkpoint
from medmonai.runs import load_weights


def test_rng_state_round_trip_through_weights_only_load():
    state = RNGState()
    torch.manual_seed(5)
    np.random.seed(5)
    random.seed(5)
    buffer = io.BytesIO()
    torch.save(state.state_dict(), buffer)
    expected = (torch.rand(3), np.random.rand(3), random.random())
    torch.manual_seed(0)
    np.random.seed(0)
    random.seed(0)
    buffer.seek(0)
    state.load_state_dict(torch.load(buffer, weights_only=True))
    torch.testing.assert_close(torch.rand(3), expected[0])
    np.testing.assert_array_equal(np.random.rand(3), expected[1])
    assert random.random() == expected[2]


def test_latest_checkpoint_picks_highest_epoch(tmp_path):
    assert latest_checkpoint(tmp_path / "none") is None
    for epoch in (2, 10, 9):
        (tmp_path / f"checkpoint_epoch={epoch}.pt").write_bytes(b"x")
    (tmp_path / "model.pt").write_bytes(b"x")
    assert latest_checkpoint(tmp_path) == (tmp_path / "checkpoint_epoch=10.pt", 10)


def test_model_exporter_writes_loadable_weights(tmp_path):
    net = torch.nn.Linear(3, 2)
    ModelExporter(tmp_path / "model.pt", net)(None)
    other = torch.nn.Linear(3, 2)
    load_weights(tmp_path / "model.pt", other)
    torch.testing.assert_close(other.weight, net.weight)
    assert not list(tmp_path.glob(".*tmp"))  # no temp file left behind


def test_load_weights_missing(tmp_path):
    with pytest.raises(CheckpointError, match=r"model\.pt: weights file not found"):
        load_weights(tmp_path / "model.pt", torch.nn.Linear(3, 2))


def test_load_weights_truncated(tmp_path):
    path = tmp_path / "model.pt"
    buffer = io.BytesIO()
    torch.save(torch.nn.Linear(3, 2).state_dict(), buffer)
    path.write_bytes(buffer.getvalue()[:50])
    with pytest.raises(CheckpointError, match=r"model\.pt: unreadable checkpoint"):
        load_weights(path, torch.nn.Linear(3, 2))


def test_load_weights_shape_mismatch(tmp_path):
    path = tmp_path / "model.pt"
    torch.save(torch.nn.Linear(3, 2).state_dict(), path)
    with pytest.raises(CheckpointError, match=r"weights do not fit the network"):
        load_weights(path, torch.nn.Linear(4, 2))


def test_load_weights_refuses_pickled_objects(tmp_path):
    path = tmp_path / "model.pt"
    torch.save({"weight": torch.zeros(2, 3), "evil": object()}, path)
    with pytest.raises(CheckpointError, match="unreadable checkpoint"):
        load_weights(path, torch.nn.Linear(3, 2))
