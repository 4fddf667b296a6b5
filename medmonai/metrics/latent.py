"""How well a latent space separates known classes: kNN accuracy and AUROC, and the silhouette score."""

from __future__ import annotations

import numpy as np
from sklearn.metrics import roc_auc_score, silhouette_score
from sklearn.model_selection import StratifiedKFold, cross_val_predict
from sklearn.neighbors import KNeighborsClassifier

from medmonai.errors import DataError

__all__ = ["latent_separation"]


def latent_separation(
    latents: np.ndarray, labels: np.ndarray, k: int = 5, folds: int = 5, seed: int = 0, prefix: str = "latent_"
) -> dict[str, float]:
    """Cross-validated kNN separability of labelled latent codes.

    A k-nearest-neighbour classifier is fitted and scored by stratified K-fold cross-validation within the given
    codes. AUROC is one-vs-rest and macro-averaged over classes (plain AUROC for two classes).

    Args:
        latents: ``(N, Z)`` codes.
        labels: ``(N,)`` integer classes; at least two classes.
        k: neighbours. Defaults to 5.
        folds: cross-validation folds, capped by the smallest class size. Defaults to 5.
        seed: fold shuffling seed. Defaults to 0.
        prefix: prefix of the kNN keys. Defaults to ``"latent_"``.

    Returns:
        ``{"<prefix>knn_accuracy", "<prefix>knn_auroc", "silhouette"}``; accuracy and AUROC in [0, 1],
        silhouette in [-1, 1].

    Raises:
        DataError: shapes disagree, fewer than two classes, or a class has fewer than two samples.
    """
    latents = np.asarray(latents, dtype=np.float64)
    labels = np.asarray(labels)
    if latents.ndim != 2 or labels.shape != (latents.shape[0],):
        raise DataError(f"latents must be (N, Z) with labels (N,), got {latents.shape} and {labels.shape}")
    classes, counts = np.unique(labels, return_counts=True)
    if len(classes) < 2 or counts.min() < 2:
        found = dict(zip(classes.tolist(), counts.tolist(), strict=True))
        raise DataError(f"latent separation needs >= 2 classes with >= 2 samples each, got counts {found}")
    n_folds = int(min(folds, counts.min()))
    cv = StratifiedKFold(n_splits=n_folds, shuffle=True, random_state=seed)
    n_neighbors = int(min(k, latents.shape[0] - int(np.ceil(latents.shape[0] / n_folds))))
    knn = KNeighborsClassifier(n_neighbors=max(1, n_neighbors))
    proba = cross_val_predict(knn, latents, labels, cv=cv, method="predict_proba")
    predicted = classes[proba.argmax(1)]
    if len(classes) == 2:
        auroc = roc_auc_score(labels, proba[:, 1])
    else:
        auroc = roc_auc_score(labels, proba, multi_class="ovr", average="macro", labels=classes)
    return {
        f"{prefix}knn_accuracy": float((predicted == labels).mean()),
        f"{prefix}knn_auroc": float(auroc),
        "silhouette": float(silhouette_score(latents, labels)),
    }
