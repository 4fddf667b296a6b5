"""Association of embedding features with covariates and with a genotype table, by vectorised least squares.

Each test is the ordinary least squares regression ``feature ~ 1 + covariates + variant`` (or, for the covariate
table, ``feature ~ 1 + covariates``) with the usual t test of one coefficient. Thousands of such regressions share
their covariates, so they are computed at once: by the Frisch-Waugh-Lovell theorem the coefficient of a variant
equals the slope of the feature's residual on the variant's residual, both residualised on the covariates, and its
standard error follows in closed form with ``n - rank(covariates) - 1`` degrees of freedom. The results equal
statsmodels' ``OLS`` (the tests compare them).

**Features.** Either the embedding dimensions themselves (``"dims"``), or (``"pcs"``, the default) the top
principal components of the covariate-adjusted, standardised embedding: an embedding spreads one biological factor
over many correlated dimensions, so a few components carry it with far fewer tests to correct for, and adjusting
first keeps age, sex and site from taking the leading components.

**Discoveries.** Each variant's tests against every feature are combined into one p-value (Simes), and
Benjamini-Hochberg runs over the variants: a variant is *found* when its combined p-value passes, so the false
discovery rate is controlled among the variants reported. (BH over every variant x feature test controls it among
tests instead; a causal variant hitting many features then lets null variants through at a higher rate: on the
simulated population 3 of 9 variants found that way were null.)

Genotype tables are read by :func:`medmonai.data.readers.genotypes.read_genotypes`.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from scipy import stats
from sklearn.decomposition import PCA
from sklearn.preprocessing import StandardScaler
from statsmodels.stats.multitest import multipletests

from medmonai.apps.population.covariates import CovariateDesign, adjust

__all__ = [
    "RegressionTests",
    "association_features",
    "covariate_tests",
    "discovery_metrics",
    "covariate_association_table",
    "fdr",
    "simes",
    "fdr_threshold",
    "genomic_inflation",
    "manhattan_figure",
    "qq_figure",
    "variant_tests",
]


@dataclass
class RegressionTests:
    """t tests of one coefficient per (term, feature); every array is ``(terms, features)``.

    Attributes:
        beta: the coefficient.
        se: its standard error.
        t: ``beta / se``.
        p: the two-sided p-value (NaN where a term cannot be tested, e.g. a variant without variation).
        dof: residual degrees of freedom.
    """

    beta: np.ndarray
    se: np.ndarray
    t: np.ndarray
    p: np.ndarray
    dof: int


def _basis(covariates: np.ndarray) -> np.ndarray:
    """An orthonormal basis of the column space of the covariates (rank-deficient columns are dropped)."""
    u, s, _ = np.linalg.svd(covariates, full_matrices=False)
    tolerance = s.max(initial=0.0) * max(covariates.shape) * np.finfo(np.float64).eps
    return u[:, s > tolerance]


def _with_intercept(covariates: np.ndarray | None, n: int) -> np.ndarray:
    ones = np.ones((n, 1))
    return ones if covariates is None or covariates.size == 0 else np.column_stack([ones, covariates])


def variant_tests(
    features: np.ndarray, dosages: np.ndarray, covariates: np.ndarray | None = None, chunk: int = 4096
) -> RegressionTests:
    """Test every variant against every feature, adjusted for the covariates (``feature ~ 1 + C + variant``).

    Args:
        features: ``(N, F)`` outcomes.
        dosages: ``(N, V)`` variants (0/1/2); converted to float64 a ``chunk`` of variants at a time.
        covariates: ``(N, p)`` design without intercept (one is added). Defaults to None (intercept only).
        chunk: variants per block, bounding memory at ``N x chunk`` plus ``chunk x F``. Defaults to 4096.

    Returns:
        :class:`RegressionTests` with ``(V, F)`` arrays.
    """
    features = np.asarray(features, dtype=np.float64)
    n, n_features = features.shape
    basis = _basis(_with_intercept(covariates, n))
    dof = n - basis.shape[1] - 1
    if dof < 1:
        raise ValueError(f"too few subjects for the regression: {n} subjects, {basis.shape[1] + 1} parameters")
    residual_y = features - basis @ (basis.T @ features)
    sum_sq_y = (residual_y**2).sum(axis=0)
    n_variants = dosages.shape[1]
    out = {k: np.full((n_variants, n_features), np.nan) for k in ("beta", "se", "t", "p")}
    for start in range(0, n_variants, chunk):
        block = np.asarray(dosages[:, start : start + chunk], dtype=np.float64)
        residual_g = block - basis @ (basis.T @ block)
        sum_sq_g = (residual_g**2).sum(axis=0)
        testable = sum_sq_g > 1e-10 * np.maximum((block**2).sum(axis=0), 1.0)
        cross = residual_g[:, testable].T @ residual_y
        beta = cross / sum_sq_g[testable, None]
        rss = np.maximum(sum_sq_y[None, :] - beta * cross, 0.0)
        se = np.sqrt(rss / dof / sum_sq_g[testable, None])
        with np.errstate(divide="ignore", invalid="ignore"):
            t = beta / se
        rows = start + np.flatnonzero(testable)
        out["beta"][rows], out["se"][rows], out["t"][rows] = beta, se, t
        out["p"][rows] = 2.0 * stats.t.sf(np.abs(t), dof)
    return RegressionTests(out["beta"], out["se"], out["t"], out["p"], dof)


def covariate_tests(features: np.ndarray, covariates: np.ndarray) -> RegressionTests:
    """The multiple regression ``feature ~ 1 + covariates`` for every feature, with a t test per covariate column.

    Args:
        features: ``(N, F)`` outcomes.
        covariates: ``(N, p)`` design without intercept (one is added; its row is not returned).

    Returns:
        :class:`RegressionTests` with ``(p, F)`` arrays, a row per design column.
    """
    features = np.asarray(features, dtype=np.float64)
    design = _with_intercept(covariates, features.shape[0])
    coefficients, _, rank, _ = np.linalg.lstsq(design, features, rcond=None)
    dof = features.shape[0] - int(rank)
    residuals = features - design @ coefficients
    variance = (residuals**2).sum(axis=0) / dof
    unscaled = np.diag(np.linalg.pinv(design.T @ design))
    se = np.sqrt(unscaled[:, None] * variance[None, :])
    t = coefficients / se
    p = 2.0 * stats.t.sf(np.abs(t), dof)
    return RegressionTests(coefficients[1:], se[1:], t[1:], p[1:], dof)


def covariate_association_table(
    features: np.ndarray,
    feature_names: Sequence[str],
    covariates: Mapping[str, np.ndarray],
    names: Sequence[str] = ("age", "sex", "site"),
    categorical: Collection[str] = ("site",),
    alpha: float = 0.05,
) -> pd.DataFrame:
    """Each feature regressed on all the covariates together: one row per (feature, covariate term).

    Args:
        features: ``(N, F)`` outcomes.
        feature_names: ``F`` names.
        covariates: ``{name: (N,)}``.
        names: the covariates in the model (those absent from ``covariates`` are skipped). Defaults to
            ``("age", "sex", "site")``.
        categorical: those one-hot encoded (a term per level beyond the first). Defaults to ``("site",)``.
        alpha: the FDR level of the ``passed`` column (BH over the whole table). Defaults to 0.05.

    Returns:
        A table with columns ``feature, term, beta, se, t, p, q, passed``.
    """
    design = CovariateDesign([n for n in names if n in covariates], categorical).fit(covariates)
    tests = covariate_tests(features, design.transform(covariates))
    q, passed = fdr(tests.p, alpha)
    terms = design.column_names()
    return pd.DataFrame(
        {
            "feature": np.tile(np.asarray(feature_names, dtype=str), len(terms)),
            "term": np.repeat(np.asarray(terms, dtype=str), len(feature_names)),
            "beta": tests.beta.ravel(),
            "se": tests.se.ravel(),
            "t": tests.t.ravel(),
            "p": tests.p.ravel(),
            "q": q.ravel(),
            "passed": passed.ravel(),
        }
    )


def fdr(p: np.ndarray, alpha: float = 0.05) -> tuple[np.ndarray, np.ndarray]:
    """Benjamini-Hochberg over every finite p-value of an array of any shape.

    Returns:
        ``(q, passed)`` of the shape of ``p``: adjusted p-values (NaN where ``p`` is) and whether each test passes
        at ``alpha``.
    """
    p = np.asarray(p, dtype=np.float64)
    q = np.full(p.shape, np.nan)
    passed = np.zeros(p.shape, bool)
    finite = np.isfinite(p)
    if finite.any():
        reject, adjusted, _, _ = multipletests(p[finite], alpha=alpha, method="fdr_bh")
        q[finite], passed[finite] = adjusted, reject
    return q, passed


def simes(p: np.ndarray) -> np.ndarray:
    """Each row's Simes combination: ``min_i(m * p_(i) / i)`` over its ``m`` finite p-values (NaN if none).

    One p-value per variant from its tests against every feature; valid when the tests are independent or
    positively dependent (Simes, 1986), so Benjamini-Hochberg over these controls the false discovery rate among
    *variants*, which is what ``assoc_fdp`` measures, rather than among variant x feature tests.
    """
    p = np.asarray(p, dtype=np.float64)
    ordered = np.sort(np.where(np.isfinite(p), p, np.inf), axis=1)
    count = np.isfinite(p).sum(axis=1, keepdims=True)
    ranks = np.arange(1, p.shape[1] + 1)
    combined = np.where(ranks <= count, count * ordered / ranks, np.inf).min(axis=1)
    return np.where(count[:, 0] > 0, np.minimum(combined, 1.0), np.nan)


def fdr_threshold(p: np.ndarray, passed: np.ndarray, alpha: float = 0.05) -> float:
    """The p-value line of a BH procedure: the largest passing p, or the rank-1 bound ``alpha / m`` if none pass."""
    finite = p[np.isfinite(p)]
    return float(p[passed].max()) if passed.any() else alpha / max(finite.size, 1)


def genomic_inflation(p: np.ndarray) -> float:
    """The genomic inflation factor: median chi-squared (1 dof) of the p-values over its expected median (1 if null)."""
    finite = np.asarray(p, dtype=np.float64)
    finite = finite[np.isfinite(finite)]
    if not finite.size:
        return float("nan")
    return float(np.median(stats.chi2.isf(finite, 1)) / stats.chi2.ppf(0.5, 1))


def association_features(
    matrix: np.ndarray,
    covariates: Mapping[str, np.ndarray],
    mode: str = "pcs",
    n_components: int = 20,
    names: Sequence[str] = ("age", "sex", "site"),
    categorical: Collection[str] = ("site",),
    seed: int = 0,
) -> tuple[np.ndarray, list[str]]:
    """The features tested for association (see the module docstring).

    Args:
        matrix: ``(N, D)`` embeddings.
        covariates: ``{name: (N,)}``.
        mode: ``"pcs"`` (top components of the adjusted, standardised embedding) or ``"dims"`` (the dimensions).
            Defaults to ``"pcs"``.
        n_components: components kept for ``"pcs"`` (at most ``min(N, D)``). Defaults to 20.
        names: covariates adjusted for before the components. Defaults to ``("age", "sex", "site")``.
        categorical: those one-hot encoded. Defaults to ``("site",)``.
        seed: PCA's seed. Defaults to 0.

    Returns:
        ``((N, F) features, F names)``.

    Raises:
        ValueError: ``mode`` is neither.
    """
    matrix = np.asarray(matrix, dtype=np.float64)
    if mode == "dims":
        width = max(3, len(str(matrix.shape[1] - 1)))
        return matrix, [f"e{i:0{width}d}" for i in range(matrix.shape[1])]
    if mode != "pcs":
        raise ValueError(f"mode must be 'pcs' or 'dims', got {mode!r}")
    adjusted = StandardScaler().fit_transform(adjust(matrix, covariates, names, categorical))
    keep = int(min(n_components, *adjusted.shape))
    components = PCA(n_components=keep, random_state=seed).fit_transform(adjusted)
    return components, [f"pc{i + 1:02d}" for i in range(keep)]


def discovery_metrics(found: np.ndarray, variant_names: Sequence[str], causal: Collection[str]) -> dict[str, float]:
    """Power and false discovery proportion of the found variants against the planted (causal) ones.

    Args:
        found: ``(V,)`` bool, variants with a passing test.
        variant_names: ``(V,)`` names.
        causal: names of the variants that truly shift the images.

    Returns:
        ``assoc_power`` (found causal / causal), ``assoc_fdp`` (found non-causal / found; 0 when nothing is found),
        ``assoc_n_found`` and ``assoc_n_causal``.
    """
    is_causal = np.isin(np.asarray(variant_names, dtype=str), np.asarray(list(causal), dtype=str))
    n_found = int(found.sum())
    return {
        "assoc_power": float((found & is_causal).sum() / max(is_causal.sum(), 1)),
        "assoc_fdp": float((found & ~is_causal).sum() / n_found) if n_found else 0.0,
        "assoc_n_found": n_found,
        "assoc_n_causal": int(is_causal.sum()),
    }


def manhattan_figure(
    min_p: np.ndarray, threshold: float, causal: np.ndarray | None = None, title: str = "association"
) -> Figure:
    """-log10 of each variant's p-value (e.g. its Simes combination over features), by variant index, with the FDR line.

    Args:
        min_p: ``(V,)`` one p-value per variant.
        threshold: the p-value the FDR procedure passes (drawn as a line).
        causal: ``(V,)`` bool, planted variants, drawn in a second colour. Defaults to None.
        title: axes title. Defaults to ``"association"``.
    """
    fig = Figure(figsize=(8.0, 3.6))
    ax = fig.add_subplot()
    index = np.arange(len(min_p))
    score = -np.log10(np.clip(min_p, 1e-300, 1.0))
    plain = np.ones(len(min_p), bool) if causal is None else ~causal
    ax.scatter(index[plain], score[plain], s=8, color="0.45", label="variant")
    if causal is not None and causal.any():
        ax.scatter(index[causal], score[causal], s=22, color="tab:red", label="planted (truth)")
    ax.axhline(-np.log10(threshold), color="tab:blue", ls="--", lw=1, label="FDR 5%")
    ax.set_xlabel("variant index")
    ax.set_ylabel("-log10 p (variant)")
    ax.set_title(title)
    ax.legend(fontsize=8, loc="upper right")
    return fig


def qq_figure(p: np.ndarray, title: str = "QQ plot of every test") -> Figure:
    """Observed against expected -log10 p under the null (uniform p), with the genomic inflation factor."""
    finite = np.sort(np.asarray(p, dtype=np.float64)[np.isfinite(p)])
    expected = -np.log10((np.arange(1, finite.size + 1) - 0.5) / max(finite.size, 1))
    observed = -np.log10(np.clip(finite, 1e-300, 1.0))
    fig = Figure(figsize=(4.6, 4.6))
    ax = fig.add_subplot()
    ax.scatter(expected, observed, s=6, color="0.3")
    top = float(max(expected.max(initial=1.0), 1.0))
    ax.plot([0, top], [0, top], color="tab:red", lw=1)
    ax.set_xlabel("expected -log10 p")
    ax.set_ylabel("observed -log10 p")
    ax.set_title(f"{title} (lambda = {genomic_inflation(finite):.2f})")
    return fig
