import numpy as np
import pytest

from medmonai.errors import DataError
from medmonai.metrics import latent_separation


def test_separated_clusters_score_perfectly():
    rng = np.random.default_rng(0)
    z = np.concatenate([rng.normal(-5, 0.3, (40, 2)), rng.normal(5, 0.3, (40, 2))])
    labels = np.repeat([0, 1], 40)
    result = latent_separation(z, labels)
    assert result["latent_knn_accuracy"] == 1.0 and result["latent_knn_auroc"] == 1.0
    assert result["silhouette"] > 0.9


def test_random_labels_score_near_chance():
    rng = np.random.default_rng(1)
    z = rng.normal(size=(400, 2))
    labels = rng.integers(0, 2, 400)
    result = latent_separation(z, labels)
    assert 0.4 < result["latent_knn_accuracy"] < 0.6 and 0.4 < result["latent_knn_auroc"] < 0.6
    assert abs(result["silhouette"]) < 0.05


def test_multiclass_macro_auroc_and_prefix():
    rng = np.random.default_rng(2)
    centres = np.array([[0, 0, 0], [6, 0, 0], [0, 6, 0]])
    z = np.concatenate([rng.normal(c, 0.5, (30, 3)) for c in centres])
    labels = np.repeat([3, 5, 8], 30)
    result = latent_separation(z, labels, prefix="x_")
    assert set(result) == {"x_knn_accuracy", "x_knn_auroc", "silhouette"}
    assert result["x_knn_auroc"] > 0.99


def test_needs_two_classes():
    with pytest.raises(DataError, match="needs >= 2 classes with >= 2 samples each"):
        latent_separation(np.zeros((5, 2)), np.zeros(5, int))


def test_shapes_must_agree():
    with pytest.raises(DataError, match=r"latents must be \(N, Z\) with labels \(N,\), got \(5, 2\) and \(4,\)"):
        latent_separation(np.zeros((5, 2)), np.zeros(4, int))
