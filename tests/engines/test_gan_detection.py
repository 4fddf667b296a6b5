"""GAN detection as a configuration of the detection pipeline: thresholds from healthy images, metrics, scores.csv."""

import csv
import json

import numpy as np
import pytest
import torch
from monai.data import DataLoader
from torch import nn

from medmonai.engines import DETECTORS, SCORE_COLUMNS, GANDetectionEvaluator, GANDetectionProtocol
from medmonai.handlers import ScoreTable
from medmonai.keys import Keys
from medmonai.metrics import sample_detection
from medmonai.networks import IziFNetwork
from medmonai.scoring import percentile_threshold


class MeanDiscriminator(nn.Module):
    def forward(self, x):
        return -x.mean((1, 2, 3))  # brighter images look less real

    def features(self, x):
        return x.flatten(1)


class Zero(nn.Module):
    def forward(self, x):
        return {Keys.RECON: torch.zeros_like(x)}


def items(n, lesion, seed):
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        image = rng.random((1, 8, 8)).astype(np.float32) * 0.1
        if lesion:
            image[:, 2:4, 2:4] += 3.0
        out.append({Keys.IMAGE: torch.from_numpy(image), Keys.LABEL: int(lesion), "subject_id": f"s{seed}_{i}"})
        out[-1]["slice"] = -1
    return out


def evaluator(data, handlers=()):
    encoder = nn.Sequential(nn.Flatten(), nn.Linear(64, 4))
    generator = nn.Sequential(nn.Linear(4, 64), nn.Unflatten(1, (1, 8, 8)))
    nn.init.zeros_(generator[0].weight), nn.init.zeros_(generator[0].bias)  # G(E(x)) = 0: the residual is x
    izif = IziFNetwork(encoder, generator, MeanDiscriminator())
    loader = DataLoader(data, batch_size=4)
    return GANDetectionEvaluator("cpu", loader, izif, Zero(), val_handlers=list(handlers))


def test_thresholds_come_from_healthy_images_and_every_test_image_gets_a_row(tmp_path):
    val = items(10, False, 0)
    test = items(6, False, 1) + items(6, True, 2)
    table = ScoreTable(tmp_path / "scores.csv", SCORE_COLUMNS, id_keys=["subject_id", "slice", Keys.LABEL])
    protocol = GANDetectionProtocol(evaluator(val), evaluator(test, [table]), tmp_path, image_percentile=90.0)
    metrics = protocol.run()
    val_ae = np.array([float((v[Keys.IMAGE] ** 2).mean()) for v in val])  # the autoencoder reconstructs 0
    assert metrics["ae_threshold"] == pytest.approx(percentile_threshold(val_ae, 90.0), rel=1e-5)
    assert metrics["n_val"] == 10 and metrics["n_test_healthy"] == metrics["n_test_lesion"] == 6
    for name in ("discriminator_ood", "fanogan", "ae", "fanogan_p99", "ae_p99"):
        assert metrics[f"{name}_auroc"] == 1.0 and metrics[f"{name}_detection_rate"] == 1.0, name
    assert "ae_pixel_auroc" not in metrics  # no lesion mask files: no pixel metrics
    assert json.loads((tmp_path / "detection_metrics.json").read_text())["ae_fpr"] == metrics["ae_fpr"]
    with (tmp_path / "scores.csv").open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == ["subject_id", "slice", "label", *SCORE_COLUMNS] and len(rows) == 12
    ae = np.array([float(r["ae"]) for r in rows])
    assert ae[6:].min() > metrics["ae_threshold"] and rows[7]["label"] == "1"
    assert (ae[:6] > metrics["ae_threshold"]).mean() == pytest.approx(metrics["ae_fpr"])  # the table's scores flag
    assert len(SCORE_COLUMNS) == len(DETECTORS)
    for name in ("detection_roc.png", "detection_scores.png", "detection_maps.png"):
        assert (tmp_path / name).stat().st_size > 1000


def test_a_test_set_without_both_labels_is_refused(tmp_path):
    protocol = GANDetectionProtocol(evaluator(items(4, False, 0)), evaluator(items(4, False, 1)), tmp_path)
    with pytest.raises(ValueError, match="healthy \\(label 0\\) and lesion \\(label 1\\)"):
        protocol.run()
    assert not (tmp_path / "detection_metrics.json").exists()


def test_sample_detection_flags_above_the_threshold():
    out = sample_detection(np.array([0, 0, 1, 1], bool), np.array([0.1, 0.6, 0.4, 0.9]), 0.5)
    assert out == {"auroc": 0.75, "ap": pytest.approx(0.8333, abs=1e-4), "detection_rate": 0.5, "fpr": 0.5}
    assert np.isnan(sample_detection(np.zeros(2, bool), np.array([0.1, 0.9]), 0.5)["detection_rate"])
