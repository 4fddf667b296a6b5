"""The buffer every report builds on: per-run reset, per-item values from output and batch, one-line errors."""

import numpy as np
import pytest
import torch
from ignite.engine import Engine

from medmonai.engines import ScoreBuffer
from medmonai.errors import ConfigError


class Totals(ScoreBuffer):
    def completed(self, engine):
        self.reported = (self.values("score").sum(), self.values("name").tolist())


def engine_over(batches):
    def step(engine, batch):
        return {"score": torch.as_tensor(batch["x"], dtype=torch.float32) * 2}

    return Engine(step), batches


def test_collects_per_item_values_and_starts_each_run_empty():
    engine, batches = engine_over([{"x": [1.0, 2.0], "name": ["a", "b"]}, {"x": [3.0], "name": ["c"]}])
    report = Totals(output_keys=["score"], batch_keys=["name"])
    report.attach(engine)
    engine.run(batches, max_epochs=1)
    assert report.reported == (12.0, ["a", "b", "c"])
    engine.run(batches, max_epochs=1)  # a second run does not add to the first
    assert report.reported == (12.0, ["a", "b", "c"])
    np.testing.assert_array_equal(report.values("score"), [2.0, 4.0, 6.0])


def test_a_missing_key_is_one_config_error():
    engine, batches = engine_over([{"x": [1.0]}])
    Totals(output_keys=["score"], batch_keys=["name"]).attach(engine)
    with pytest.raises(ConfigError, match=r"Totals: \['name'\] not in the evaluator's batch"):
        engine.run(batches, max_epochs=1)
