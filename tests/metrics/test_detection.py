import numpy as np
import pytest
from sklearn.metrics import average_precision_score, f1_score, precision_recall_curve, roc_auc_score, roc_curve

from medmonai.metrics import auroc_ap, dice_from_counts, lesion_detection, ranking_metrics
from tests.conftest import dice

RNG = np.random.default_rng(0)
LABELS = np.array([0, 0, 1, 1, 0, 1, 0, 0])
SCORES = np.array([0.1, 0.4, 0.35, 0.8, 0.2, 0.9, 0.7, 0.05])


def test_auroc_ap_agree_with_sklearn_on_hand_made_scores():
    auroc, ap = auroc_ap(LABELS, SCORES)
    assert auroc == pytest.approx(roc_auc_score(LABELS, SCORES))
    assert ap == pytest.approx(average_precision_score(LABELS, SCORES))
    assert auroc == pytest.approx(13 / 15)  # 13 of the 15 positive-negative pairs are ordered correctly


def test_auroc_ap_are_nan_with_one_class():
    assert all(np.isnan(v) for v in auroc_ap(np.zeros(4), np.arange(4)))


def test_dice_by_hand():
    assert dice(np.array([1, 1, 0, 0]), np.array([1, 0, 1, 0])) == pytest.approx(0.5)
    assert dice(np.zeros(3), np.zeros(3)) == 1.0
    assert dice_from_counts(tp=1, fp=1, fn=1) == pytest.approx(0.5)


def test_the_oracle_dice_is_the_best_dice_over_every_threshold():
    labels = RNG.random(300) < 0.2
    scores = labels * 0.5 + RNG.random(300)
    best = max(dice(scores >= t, labels) for t in np.unique(scores))
    assert ranking_metrics(labels, scores)["dice_oracle"] == pytest.approx(best)
    assert best == pytest.approx(max(f1_score(labels, scores >= t) for t in np.unique(scores)))


def test_lesion_detection_counts_touched_components():
    lesions = np.zeros((10, 10, 10), bool)
    lesions[1:3, 1:3, 1:3] = True
    lesions[6:9, 6:9, 6:9] = True
    predicted = np.zeros_like(lesions)
    predicted[2, 2, 2] = True  # one voxel of the first lesion
    assert lesion_detection(predicted, lesions) == (1, 2)
    assert lesion_detection(predicted, np.zeros_like(lesions)) == (0, 0)


def test_ranking_metrics_agree_with_the_single_metric_functions():
    labels = RNG.random(500) < 0.1
    scores = labels * 0.8 + RNG.random(500)
    ranking = ranking_metrics(labels, scores)
    assert ranking["auroc"] == pytest.approx(roc_auc_score(labels, scores))
    assert ranking["ap"] == pytest.approx(average_precision_score(labels, scores))
    assert np.isnan(ranking_metrics(np.zeros(3), np.arange(3))["auroc"])


def test_one_sort_gives_sklearns_curves_even_with_tied_scores():
    labels = RNG.random(2000) < 0.2
    scores = np.round(labels * 0.3 + RNG.random(2000), 1).astype(np.float32)  # few distinct values: many ties
    ranking = ranking_metrics(labels, scores)
    precision, recall, _ = precision_recall_curve(labels, scores)
    fpr, tpr, _ = roc_curve(labels, scores, drop_intermediate=False)
    assert np.array_equal(ranking["precision"], precision) and np.array_equal(ranking["recall"], recall)
    assert np.allclose(ranking["fpr"], fpr) and np.allclose(ranking["tpr"], tpr)
    assert ranking["auroc"] == pytest.approx(roc_auc_score(labels, scores), abs=1e-12)
    assert ranking["ap"] == pytest.approx(average_precision_score(labels, scores), abs=1e-12)
