"""ScoreTable, ValueHistogram and LatentReport on hand-made evaluator outputs: what they write, value for value."""

import csv
import json

import pytest
import torch
from ignite.engine import Engine, Events
from torch import nn

from medmonai.errors import ConfigError
from medmonai.handlers import LatentReport, ScoreTable, ValueHistogram
from medmonai.keys import Keys


def run(handler, batches, step):
    engine = Engine(step)
    engine.add_event_handler(Events.STARTED, lambda e: setattr(e.state, "device", "cpu"))
    handler.attach(engine)
    engine.run(batches, max_epochs=1)
    return engine


def test_score_table_writes_one_row_per_item_ids_first(tmp_path):
    batches = [{"name": ["a", "b"], "x": torch.tensor([1.0, 2.0])}, {"name": ["c"], "x": torch.tensor([3.0])}]
    table = ScoreTable(tmp_path / "scores.csv", {"double": "y", "square": "z"}, id_keys=["name"])
    run(table, batches, lambda e, b: {"y": b["x"] * 2, "z": (b["x"] ** 2)[:, None]})  # (B,) and (B, 1) scores
    with (tmp_path / "scores.csv").open(encoding="utf-8") as f:
        rows = list(csv.reader(f))
    assert rows == [["name", "double", "square"], ["a", "2.0", "1.0"], ["b", "4.0", "4.0"], ["c", "6.0", "9.0"]]
    with pytest.raises(ConfigError, match="at least one"):
        ScoreTable(tmp_path / "x.csv", {})


def test_value_histogram_splits_values_by_class(tmp_path, monkeypatch):
    drawn = {}

    def fake_figure(groups, **kwargs):
        drawn.update(groups=groups, **kwargs)
        from matplotlib.figure import Figure

        return Figure()

    monkeypatch.setattr("medmonai.handlers.histogram.histogram_figure", fake_figure)
    batches = [{"fraction": torch.tensor([0.1, 0.5, 0.7]), Keys.LABEL: torch.tensor([0, 1, 1])}]
    run(ValueHistogram(tmp_path, "fraction", class_names={1: "lesion"}), batches, lambda e, b: {})
    assert drawn["groups"]["0"].tolist() == pytest.approx([0.1]) and drawn["groups"]["lesion"] == pytest.approx(
        [0.5, 0.7]
    )
    assert drawn["title"] == "fraction of 3 items" and drawn["log_count"] is True
    assert (tmp_path / "fraction_hist.png").is_file()


class TinyVAE(nn.Module):
    latent_size = 2

    def forward(self, x):
        return {Keys.RECON: x * 0.5}

    def sample(self, n, generator):
        return torch.rand(n, 1, 4, 4, generator=generator)


def test_latent_report_measures_separation_and_the_elbo_auroc(tmp_path):
    labels = torch.tensor([0, 0, 0, 1, 1, 1])
    mu = torch.stack([labels * 10.0, torch.zeros(6)], 1) + torch.linspace(0, 0.1, 6)[:, None]
    elbo = -labels.float() * 5 + torch.linspace(0, 0.1, 6)  # class 1 less likely: -ELBO ranks it first
    batches = [{"i": torch.arange(3)}, {"i": torch.arange(3, 6)}]

    def step(engine, batch):
        i = batch["i"]
        return {Keys.MU: mu[i], Keys.LABEL: labels[i], Keys.ELBO: elbo[i], Keys.IMAGE: torch.rand(len(i), 1, 4, 4)}

    report = LatentReport(tmp_path, TinyVAE(), num_reconstructions=2, num_samples=4, knn_k=1)
    run(report, batches, step)
    metrics = json.loads((tmp_path / "metrics.json").read_text(encoding="utf-8"))
    assert metrics["elbo_auroc"] == 1.0 and metrics["n_images"] == 6 and metrics["latent_size"] == 2
    assert "train_images_per_second" not in metrics  # no training summary given
    assert sorted(len(v) for v in report.examples.values()) == [2, 2]  # num_reconstructions per class
    for name in ("latent_scatter.png", "reconstructions.png", "samples.png"):
        assert (tmp_path / name).stat().st_size > 1000, name
