"""Score definitions of the 2-D anomaly bundles, checked against hand computations."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from monai.data import DataLoader

from medmonai.apps.oct import DiseaseAUCReport
from medmonai.apps.one_class import one_class_metrics
from medmonai.engines import ReconstructionErrorEvaluator
from medmonai.keys import Keys


class Half(torch.nn.Module):
    def forward(self, x):
        return {Keys.RECON: torch.full_like(x, 0.5)}


def test_reconstruction_error_is_the_mean_per_pixel_bce():
    images = torch.rand(3, 1, 4, 4)
    loader = DataLoader([{"image": img, "label": 0} for img in images], batch_size=3)
    evaluator = ReconstructionErrorEvaluator("cpu", loader, Half())
    evaluator.run()
    by_hand = F.binary_cross_entropy(torch.full_like(images, 0.5), images, reduction="none").mean((1, 2, 3))
    assert torch.allclose(evaluator.state.output[Keys.SCORE], by_hand)
    assert torch.allclose(by_hand, torch.full((3,), float(np.log(2))))  # BCE against 0.5 is log 2 for any target


def test_one_class_metrics_by_hand():
    errors = {
        "train": np.array([1.0, 3.0]),  # mean 2, sd 1: threshold 4
        "test_normal": np.array([1.0, 5.0, 2.0, 3.0]),  # 1 of 4 above 4: FPR 25%
        "noise": np.array([4.5, 3.5]),  # 1 of 2 above: 50%
    }
    metrics = one_class_metrics(errors, k=2.0)
    assert metrics["threshold"] == pytest.approx(4.0)
    assert metrics["test_normal_fpr"] == pytest.approx(25.0)
    assert metrics["noise/detection_rate"] == pytest.approx(50.0)
    # noise 4.5 beats 3 normals, ties none, loses to 5; 3.5 beats 3 normals: AUROC = 6 / 8
    assert metrics["noise/auroc"] == pytest.approx(6 / 8)
    assert "real/auroc" not in metrics


def test_disease_scores_by_hand(tmp_path):
    report = DiseaseAUCReport(tmp_path)
    labels = np.array([0, 0, 1, 2])
    scores = {"recon": np.array([1.0, 2.0, 3.0, 0.5]), "kl": np.array([1.0, 1.0, 1.0, 1.0])}
    scores["vae"] = scores["recon"] + scores["kl"]
    metrics, _ = report.metrics(scores, labels)
    assert metrics["recon/auroc_cnv"] == 1.0  # 3 is above both normals
    assert metrics["recon/auroc_dme"] == 0.0  # 0.5 is below both
    assert metrics["recon/auroc_all"] == pytest.approx(0.5)
    assert metrics["kl/auroc_all"] == pytest.approx(0.5)  # constant score: ties everywhere
    assert metrics["vae/auroc_cnv"] == metrics["recon/auroc_cnv"]  # adding a constant KL changes no ranking
