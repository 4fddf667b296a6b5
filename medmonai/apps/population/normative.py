"""A normative model of healthy variation: how far each subject's embedding lies from healthy subjects like them.

Fitted on a healthy reference only:

1. each embedding dimension is regressed on the covariates (default age, sex and site one-hot; optionally a cubic
   spline on age for a non-linear ageing curve), so the expectation moves with age and sex as healthy people's does;
2. the residuals' covariance is estimated with scikit-learn's Ledoit-Wolf shrinkage (stable with more dimensions than
   a reference can pin down) or the robust minimum covariance determinant (``MinCovDet``);
3. a subject's *deviation* is the Mahalanobis distance of its residual under that covariance.

A deviation becomes a *percentile* of the healthy reference's own distribution of deviations. Measured on the
subjects the model was fitted on, those deviations are too small (the model has seen them), and every new subject
would look unusual. So the reference is **cross-fitted**: it is split into folds, and each fold's deviations come from
the model fitted on the other folds. Every other subject is measured by one of those fold models too (seeded choice),
so it is judged by a model of the same size that never saw it, and the percentiles of new healthy subjects are
uniform: 5% of them are above the 95th percentile.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from matplotlib.figure import Figure
from sklearn.covariance import LedoitWolf, MinCovDet
from sklearn.decomposition import PCA
from sklearn.linear_model import LinearRegression
from sklearn.metrics import roc_auc_score

from medmonai.apps.population.covariates import CovariateDesign
from medmonai.viz.figures import histogram_figure

__all__ = [
    "COVARIANCES",
    "NormativeModel",
    "NormativeResult",
    "normative_deviation",
    "normative_figure",
    "normative_metrics",
]

logger = logging.getLogger(__name__)

COVARIANCES = ("ledoit_wolf", "min_cov_det")


def _rows(covariates: Mapping[str, np.ndarray], rows: np.ndarray) -> dict[str, np.ndarray]:
    return {name: np.asarray(values)[rows] for name, values in covariates.items()}


class NormativeModel:
    """Covariate regression plus residual covariance, fitted on healthy subjects (see the module docstring).

    Args:
        names: covariates of the expected embedding (those absent from the data are skipped). Defaults to
            ``("age", "sex", "site")``.
        categorical: those one-hot encoded. Defaults to ``("site",)``.
        spline: ``{name: knots}`` covariates with a cubic-spline effect, e.g. ``{"age": 5}``. Defaults to None
            (every effect linear).
        covariance: ``"ledoit_wolf"`` or ``"min_cov_det"``. Defaults to ``"ledoit_wolf"``.
        n_components: reduce the residuals to this many principal components (fitted on the reference) before the
            covariance; None keeps every dimension. Defaults to None.
        seed: seed of the robust covariance and PCA. Defaults to 0.

    Raises:
        ValueError: an unknown ``covariance``.
    """

    def __init__(
        self,
        names: Sequence[str] = ("age", "sex", "site"),
        categorical: Collection[str] = ("site",),
        spline: Mapping[str, int] | None = None,
        covariance: str = "ledoit_wolf",
        n_components: int | None = None,
        seed: int = 0,
    ) -> None:
        if covariance not in COVARIANCES:
            raise ValueError(f"covariance must be one of {COVARIANCES}, got {covariance!r}")
        self.names, self.categorical, self.spline = list(names), categorical, spline
        self.covariance, self.n_components, self.seed = covariance, n_components, seed

    def _design(self, covariates: Mapping[str, np.ndarray], n: int) -> np.ndarray:
        x = self.design.transform(covariates)
        return x if x.shape[1] else np.zeros((n, 1))  # no covariate: the expectation is the reference mean

    def _residuals(self, matrix: np.ndarray, covariates: Mapping[str, np.ndarray]) -> np.ndarray:
        matrix = np.asarray(matrix, dtype=np.float64)
        residuals = matrix - self.regression.predict(self._design(covariates, len(matrix)))
        return residuals if self.pca is None else self.pca.transform(residuals)

    def fit(self, matrix: np.ndarray, covariates: Mapping[str, np.ndarray]) -> NormativeModel:
        """Fit on healthy subjects: ``matrix`` ``(n, D)`` and their covariates ``{name: (n,)}``."""
        used = [n for n in self.names if n in covariates]
        self.design = CovariateDesign(used, self.categorical, self.spline).fit(covariates)
        matrix = np.asarray(matrix, dtype=np.float64)
        self.regression = LinearRegression().fit(self._design(covariates, len(matrix)), matrix)
        self.pca = None
        residuals = self._residuals(matrix, covariates)
        if self.n_components is not None and self.n_components < residuals.shape[1]:
            self.pca = PCA(n_components=self.n_components, random_state=self.seed).fit(residuals)
            residuals = self.pca.transform(residuals)
        estimator = LedoitWolf() if self.covariance == "ledoit_wolf" else MinCovDet(random_state=self.seed)
        self.estimator = estimator.fit(residuals)
        return self

    def distance(self, matrix: np.ndarray, covariates: Mapping[str, np.ndarray]) -> np.ndarray:
        """``(N,)`` Mahalanobis distance of each subject's residual from the healthy expectation."""
        return np.sqrt(self.estimator.mahalanobis(self._residuals(matrix, covariates)))


@dataclass
class NormativeResult:
    """Per-subject deviation from the healthy reference.

    Attributes:
        distance: ``(N,)`` Mahalanobis distance, each from a model that never saw the subject.
        percentile: ``(N,)`` in [0, 100]: where the distance falls among the reference's cross-fitted distances.
        reference: ``(N,)`` bool, the healthy reference.
        fold: ``(N,)`` the fold model that measured each subject.
    """

    distance: np.ndarray
    percentile: np.ndarray
    reference: np.ndarray
    fold: np.ndarray


def normative_deviation(
    matrix: np.ndarray,
    covariates: Mapping[str, np.ndarray],
    reference: np.ndarray,
    folds: int = 5,
    seed: int = 0,
    **model: object,
) -> NormativeResult:
    """Deviation distance and percentile of every subject from the healthy ``reference``, cross-fitted.

    Args:
        matrix: ``(N, D)`` embeddings.
        covariates: ``{name: (N,)}``.
        reference: ``(N,)`` bool, the healthy subjects the model is fitted on.
        folds: cross-fitting folds of the reference (at least 2). Defaults to 5.
        seed: fold assignment and model seeds. Defaults to 0.
        **model: keyword arguments of :class:`NormativeModel` (``names``, ``spline``, ``covariance``, ...).

    Raises:
        ValueError: ``folds`` < 2, or fewer than ``2 * folds`` reference subjects.
    """
    reference = np.asarray(reference, bool)
    n_reference = int(reference.sum())
    if folds < 2 or n_reference < 2 * folds:
        raise ValueError(
            f"folds must be >= 2 with at least 2 * folds reference subjects, got {folds} and {n_reference}"
        )
    rng = np.random.default_rng(seed)
    fold = rng.integers(folds, size=len(reference))  # subjects outside the reference: one fold model each
    fold[reference] = rng.permutation(n_reference) % folds  # the reference: balanced folds
    distance = np.empty(len(reference))
    for k in range(folds):
        train = reference & (fold != k)
        measured = fold == k
        fitted = NormativeModel(seed=seed, **model).fit(np.asarray(matrix)[train], _rows(covariates, train))
        distance[measured] = fitted.distance(np.asarray(matrix)[measured], _rows(covariates, measured))
    healthy = np.sort(distance[reference])
    below, at_or_below = np.searchsorted(healthy, distance, "left"), np.searchsorted(healthy, distance, "right")
    percentile = 100.0 * (below + at_or_below) / (2.0 * n_reference)
    logger.info(f"normative model: {n_reference} reference subjects in {folds} folds, {len(reference)} measured")
    return NormativeResult(distance, percentile, reference, fold)


def normative_metrics(
    result: NormativeResult, groups: np.ndarray, healthy_value: float = 0, name: str = "subgroup"
) -> dict[str, float]:
    """How well the deviation separates the non-healthy groups from the healthy reference.

    Args:
        result: from :func:`normative_deviation`.
        groups: ``(N,)`` known groups (NaN rows are left out).
        healthy_value: the healthy group's value. Defaults to 0.
        name: the grouping's name in the metric keys. Defaults to ``"subgroup"``.

    Returns:
        ``normative_auroc_<name>`` (every non-healthy group against the reference), ``normative_auroc_<name>_<g>``
        per group, and ``normative_above95_<name>``: the fraction of non-healthy subjects above the healthy 95th
        percentile. Empty when either side is missing.
    """
    groups = np.asarray(groups, dtype=np.float64)
    known = np.isfinite(groups)
    patients = known & (groups != healthy_value)
    if not patients.any() or not result.reference.any():
        return {}

    def auroc(chosen: np.ndarray) -> float:
        keep = chosen | result.reference
        return float(roc_auc_score(chosen[keep], result.distance[keep]))

    metrics = {f"normative_auroc_{name}": auroc(patients)}
    levels = np.unique(groups[patients])
    if len(levels) > 1:
        metrics.update({f"normative_auroc_{name}_{level:g}": auroc(patients & (groups == level)) for level in levels})
    metrics[f"normative_above95_{name}"] = float((result.percentile[patients] > 95.0).mean())
    return metrics


def normative_figure(result: NormativeResult, groups: np.ndarray | None = None, name: str = "subgroup") -> Figure:
    """Histogram of deviation percentiles: the healthy reference, and each other group (or everyone else)."""
    series = {"healthy reference": result.percentile[result.reference]}
    others = ~result.reference
    if groups is not None:
        groups = np.asarray(groups, dtype=np.float64)
        for level in np.unique(groups[others & np.isfinite(groups)]):
            series[f"{name} {level:g}"] = result.percentile[others & (groups == level)]
    elif others.any():
        series["others"] = result.percentile[others]
    return histogram_figure(series, "deviation percentile of the healthy reference", "normative deviation", 20, False)
