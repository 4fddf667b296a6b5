"""Covariate design matrices and covariate adjustment of embeddings, shared by every analysis of the population study.

Covariates travel as a mapping ``{name: (N,) float64}``. A :class:`CovariateDesign` turns them into a regression
design with scikit-learn: categorical covariates (e.g. ``site``) one-hot with the first level dropped, an optional
cubic spline on a continuous covariate (e.g. ``age``), the others as they are. :func:`adjust` removes what the
covariates explain from each embedding dimension, with the regression fitted on a reference subset (e.g. the
healthy subjects) or on everyone.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Mapping, Sequence

import numpy as np
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LinearRegression
from sklearn.preprocessing import OneHotEncoder, SplineTransformer

__all__ = ["CovariateDesign", "adjust", "is_categorical"]

logger = logging.getLogger(__name__)


def is_categorical(values: np.ndarray, max_levels: int = 12) -> bool:
    """Whether a covariate looks categorical: every finite value is a whole number and there are few distinct ones.

    Args:
        values: ``(N,)`` numbers (NaN allowed).
        max_levels: most distinct values a categorical covariate may have. Defaults to 12.
    """
    finite = np.asarray(values, dtype=np.float64)
    finite = finite[np.isfinite(finite)]
    return bool(finite.size) and bool(np.all(finite == np.round(finite))) and np.unique(finite).size <= max_levels


class CovariateDesign:
    """The regression design of a set of covariates (no intercept column; the regressions add their own).

    Args:
        names: the covariates used, in order.
        categorical: those one-hot encoded (first level dropped; a level unseen at fit gets all zeros).
            Defaults to ``("site",)``.
        spline: ``{name: knots}``: a cubic B-spline basis with that many knots replaces the covariate (a smooth,
            non-linear effect, e.g. of age). Defaults to no spline.
    """

    def __init__(
        self, names: Sequence[str], categorical: Collection[str] = ("site",), spline: Mapping[str, int] | None = None
    ) -> None:
        self.names = list(names)
        self.categorical = [n for n in self.names if n in set(categorical)]
        self.spline = {n: int(k) for n, k in (spline or {}).items() if n in self.names and n not in self.categorical}
        plain = [n for n in self.names if n not in self.categorical and n not in self.spline]
        parts = [("value", "passthrough", [self.names.index(n) for n in plain])]
        if self.categorical:
            onehot = OneHotEncoder(drop="first", handle_unknown="ignore", sparse_output=False)
            parts.append(("level", onehot, [self.names.index(n) for n in self.categorical]))
        for name, knots in self.spline.items():
            parts.append(
                (
                    f"spline_{name}",
                    SplineTransformer(n_knots=knots, degree=3, extrapolation="linear", include_bias=False),
                    [self.names.index(name)],
                )
            )
        self.transformer = ColumnTransformer(parts, verbose_feature_names_out=False)

    def _stack(self, covariates: Mapping[str, np.ndarray]) -> np.ndarray:
        missing = [n for n in self.names if n not in covariates]
        if missing:
            raise KeyError(f"covariates must include {self.names}, missing {missing}")
        return np.column_stack([np.asarray(covariates[n], dtype=np.float64) for n in self.names])

    def fit(self, covariates: Mapping[str, np.ndarray]) -> CovariateDesign:
        """Learn the levels of the categorical covariates and the spline knots from these subjects."""
        if self.names:
            self.transformer.fit(self._stack(covariates))
        return self

    def transform(self, covariates: Mapping[str, np.ndarray]) -> np.ndarray:
        """``(N, p)`` float64 design of these subjects (``p`` = 0 when no covariate is used)."""
        if not self.names:
            return np.zeros((len(next(iter(covariates.values()), [])), 0))
        return np.asarray(self.transformer.transform(self._stack(covariates)), dtype=np.float64)

    def column_names(self) -> list[str]:
        """A readable name per design column: ``age``, ``site=2`` (one-hot), ``age_spline3`` (spline basis)."""
        if not self.names:
            return []
        named = []
        for kind, encoder, columns in self.transformer.transformers_:
            if kind == "value":
                named += [self.names[c] for c in columns]
            elif kind == "level":
                for name, levels, dropped in zip(self.categorical, encoder.categories_, encoder.drop_idx_, strict=True):
                    named += [f"{name}={level:g}" for i, level in enumerate(levels) if i != dropped]
            elif kind.startswith("spline_"):
                named += [f"{kind.removeprefix('spline_')}_spline{i}" for i in range(encoder.n_features_out_)]
        return named


def adjust(
    matrix: np.ndarray,
    covariates: Mapping[str, np.ndarray],
    names: Sequence[str] = ("age", "sex", "site"),
    categorical: Collection[str] = ("site",),
    reference: np.ndarray | None = None,
    spline: Mapping[str, int] | None = None,
) -> np.ndarray:
    """Residuals of each embedding dimension after a linear regression on the covariates.

    The design (levels, knots) is built on every subject; the regression is fitted on the ``reference`` subjects
    only, so a covariate's effect is what it does among them (for a healthy reference: normal ageing, not a
    disease that is more common with age), and applied to everyone.

    Args:
        matrix: ``(N, D)`` embeddings.
        covariates: ``{name: (N,)}`` values; must hold every name in ``names``.
        names: the covariates regressed out. Defaults to ``("age", "sex", "site")``.
        categorical: those one-hot encoded. Defaults to ``("site",)``.
        reference: ``(N,)`` bool, the subjects the regression is fitted on. Defaults to None (everyone).
        spline: ``{name: knots}`` covariates with a spline effect. Defaults to None.

    Returns:
        ``(N, D)`` float64 residuals.
    """
    matrix = np.asarray(matrix, dtype=np.float64)
    names = [n for n in names if n in covariates]
    if not names:
        return matrix - matrix.mean(axis=0)
    design = CovariateDesign(names, categorical, spline).fit(covariates)
    x = design.transform(covariates)
    fit_rows = np.ones(len(matrix), bool) if reference is None else np.asarray(reference, bool)
    regression = LinearRegression().fit(x[fit_rows], matrix[fit_rows])
    logger.debug(f"adjusted {matrix.shape[1]} dimensions for {design.column_names()} on {fit_rows.sum()} subjects")
    return matrix - regression.predict(x)
