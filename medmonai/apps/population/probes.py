"""Linear probes: how much of a covariate a frozen embedding holds, and how that grows with the labels available.

A probe is a linear model on the standardised embedding, trained on the training subjects and scored on held-out
test subjects (splits are by subject, so no subject is on both sides):

- a continuous target (age): ridge regression with the penalty chosen by efficient leave-one-out (``RidgeCV``),
  scored by R^2;
- a categorical target (sex, subgroup, site): L2-regularised logistic regression, scored by accuracy and AUROC
  (one-vs-rest, macro-averaged, for more than two classes).

**Label fractions.** The same probe trained on 1%, 10% and 100% of the training labels: each fraction below 1 is a
seeded random draw of the training subjects, repeated and averaged. A draw keeps at least 3 subjects, and for a
categorical target at least one of every class (a classifier needs each class once), so "1%" of a small cohort can be
a few subjects more than 1%; the CSV records the count actually used.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression, RidgeCV
from sklearn.metrics import accuracy_score, r2_score, roc_auc_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

__all__ = ["FRACTIONS", "label_draw", "probe_metrics", "probe_scores", "probe_table"]

logger = logging.getLogger(__name__)

FRACTIONS = (0.01, 0.1, 1.0)
_MINIMUM_LABELS = 3
_ALPHAS = np.logspace(-3, 4, 15)


def label_draw(
    train: np.ndarray, fraction: float, rng: np.random.Generator, classes: np.ndarray | None = None
) -> np.ndarray:
    """A seeded draw of ``fraction`` of the training rows (all of them at 1).

    Args:
        train: training row indices.
        fraction: share of the rows drawn, in (0, 1].
        rng: the random generator of this draw.
        classes: ``(len(train),)`` class of each training row, for a categorical target: one row of every class is
            drawn first. Defaults to None.

    Returns:
        Sorted row indices, at least ``min(3, len(train))`` of them.
    """
    train = np.asarray(train)
    if fraction >= 1.0:
        return np.sort(train)
    count = int(np.clip(round(fraction * len(train)), min(_MINIMUM_LABELS, len(train)), len(train)))
    first = np.array([], dtype=train.dtype)
    if classes is not None:
        first = np.array([rng.choice(train[classes == c]) for c in np.unique(classes)], dtype=train.dtype)
    rest = rng.permutation(np.setdiff1d(train, first))[: max(count - len(first), 0)]
    return np.sort(np.concatenate([first, rest]))


def _score(features: np.ndarray, target: np.ndarray, rows: np.ndarray, test: np.ndarray, categorical: bool) -> dict:
    if not categorical:
        model = make_pipeline(StandardScaler(), RidgeCV(alphas=_ALPHAS)).fit(features[rows], target[rows])
        return {"r2": float(r2_score(target[test], model.predict(features[test])))}
    model = make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=2000))
    model.fit(features[rows], target[rows])
    scores = {"acc": float(accuracy_score(target[test], model.predict(features[test])))}
    classes = model.classes_
    present = np.unique(target[test])
    if len(present) < 2 or not np.isin(present, classes).all():
        scores["auroc"] = float("nan")  # AUROC needs two classes in the test set, each known to the probe
    elif len(classes) == 2:
        scores["auroc"] = float(roc_auc_score(target[test] == classes[1], model.predict_proba(features[test])[:, 1]))
    else:
        probability = model.predict_proba(features[test])
        scores["auroc"] = float(roc_auc_score(target[test], probability, multi_class="ovr", labels=classes))
    return scores


def probe_scores(
    features: np.ndarray,
    target: np.ndarray,
    train: np.ndarray,
    test: np.ndarray,
    categorical: bool,
    fractions: Sequence[float] = FRACTIONS,
    repeats: int = 5,
    seed: int = 0,
) -> list[dict]:
    """Probe one target at every label fraction.

    Args:
        features: ``(N, D)`` embeddings.
        target: ``(N,)`` values (NaN rows are never used); class codes when ``categorical``.
        train: row indices whose labels may be used.
        test: row indices scored.
        categorical: logistic probe (True) or ridge (False).
        fractions: label fractions. Defaults to :data:`FRACTIONS` (1%, 10%, 100%).
        repeats: draws per fraction below 1 (the full set is used once). Defaults to 5.
        seed: seed of the draws. Defaults to 0.

    Returns:
        One dict per (fraction, repeat): ``fraction``, ``repeat``, ``n_labels``, ``n_test`` and the scores (``r2``,
        or ``acc`` and ``auroc``).

    Raises:
        ValueError: fewer than 2 usable training or test rows, or a categorical target with one training class.
    """
    features = np.asarray(features, dtype=np.float64)
    target = np.asarray(target, dtype=np.float64)
    train = np.asarray(train)[np.isfinite(target[train])]
    test = np.asarray(test)[np.isfinite(target[test])]
    if len(train) < 2 or len(test) < 2:
        raise ValueError(f"a probe needs at least 2 labelled train and test rows, got {len(train)} and {len(test)}")
    if categorical and len(np.unique(target[train])) < 2:
        raise ValueError(
            f"a categorical probe needs at least 2 classes in the training rows, got {np.unique(target[train])}"
        )
    rows = []
    for fraction in fractions:
        for repeat in range(1 if fraction >= 1.0 else repeats):
            rng = np.random.default_rng([seed, repeat, int(round(fraction * 1e6))])
            drawn = label_draw(train, fraction, rng, target[train] if categorical else None)
            scores = _score(features, target, drawn, test, categorical)
            rows.append({"fraction": fraction, "repeat": repeat, "n_labels": len(drawn), "n_test": len(test), **scores})
    return rows


def probe_table(results: dict[str, list[dict]]) -> pd.DataFrame:
    """Every probe run in one table: ``target`` then the columns of :func:`probe_scores`' rows."""
    frames = [pd.DataFrame(rows).assign(target=name) for name, rows in results.items() if rows]
    if not frames:
        return pd.DataFrame(columns=["target", "fraction", "repeat", "n_labels", "n_test"])
    table = pd.concat(frames, ignore_index=True)
    return table[["target", *[c for c in table.columns if c != "target"]]]


def _percent(fraction: float) -> str:
    return f"{fraction * 100:g}pct"


def probe_metrics(results: dict[str, list[dict]]) -> dict[str, float]:
    """Flat metrics from :func:`probe_scores` results per target.

    Returns:
        ``probe_<score>_<target>_<percent>pct`` (mean over repeats), e.g. ``probe_r2_age_1pct``, and
        ``probe_<score>_<target>`` for the full training set, e.g. ``probe_r2_age``, ``probe_auroc_sex``.
    """
    metrics = {}
    for name, rows in results.items():
        table = pd.DataFrame(rows)
        scores = [c for c in ("r2", "acc", "auroc") if c in table.columns]
        for fraction, group in table.groupby("fraction"):
            for score in scores:
                value = float(group[score].mean())
                metrics[f"probe_{score}_{name}_{_percent(fraction)}"] = value
                if fraction >= 1.0:
                    metrics[f"probe_{score}_{name}"] = value
    return metrics
