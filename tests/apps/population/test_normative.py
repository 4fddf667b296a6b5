import numpy as np
import pytest
from matplotlib.figure import Figure
from scipy import stats

from medmonai.apps.population import NormativeModel, normative_deviation, normative_figure, normative_metrics
from tests.apps.population.conftest import planted_population


def _rows(covariates, rows):
    return {k: v[rows] for k, v in covariates.items()}


@pytest.fixture(scope="module")
def healthy():
    """A population of healthy subjects only (40 correlated dimensions, effects of age, sex and site)."""
    return planted_population(n=900, dims=40, seed=11, subgroups=False)


def test_new_healthy_subjects_get_uniform_percentiles(healthy):
    reference = np.arange(900) >= 450  # 450 healthy subjects the model never sees as reference
    result = normative_deviation(healthy.matrix, healthy.covariates, reference, folds=5, seed=0, categorical=["site"])
    new = result.percentile[~reference] / 100.0
    assert stats.kstest(new, "uniform").pvalue > 0.05
    assert 0.01 < (new > 0.95).mean() < 0.10
    assert (result.distance > 0).all() and set(np.unique(result.fold)) == set(range(5))


def test_without_cross_fitting_new_healthy_subjects_look_deviant(healthy):
    # the contrast that motivates cross-fitting: percentiles against the fitted subjects' own distances
    reference = np.arange(900) >= 450
    model = NormativeModel(categorical=["site"]).fit(healthy.matrix[reference], _rows(healthy.covariates, reference))
    seen = np.sort(model.distance(healthy.matrix[reference], _rows(healthy.covariates, reference)))
    unseen = model.distance(healthy.matrix[~reference], _rows(healthy.covariates, ~reference))
    percentile = np.searchsorted(seen, unseen) / len(seen)
    assert stats.kstest(percentile, "uniform").pvalue < 0.01 and percentile.mean() > 0.55


def test_planted_subgroups_deviate_from_the_healthy_reference():
    population = planted_population(n=600, dims=32, seed=2)
    reference = population.subgroup == 0
    result = normative_deviation(population.matrix, population.covariates, reference, categorical=["site"])
    metrics = normative_metrics(result, population.subgroup, 0, "subgroup")
    assert metrics["normative_auroc_subgroup"] > 0.95
    assert metrics["normative_auroc_subgroup_1"] > 0.95 and metrics["normative_auroc_subgroup_2"] > 0.95
    assert metrics["normative_above95_subgroup"] > 0.8
    assert isinstance(normative_figure(result, population.subgroup), Figure)


def test_a_spline_on_age_follows_a_non_linear_ageing_curve():
    rng = np.random.default_rng(4)
    n = 800
    age = rng.uniform(45, 80, n)
    covariates = {"age": age, "sex": rng.integers(0, 2, n) * 1.0}
    curve = ((age - 62.5) / 8.0) ** 2  # accelerating change with age
    matrix = np.outer(curve, rng.normal(size=6)) + rng.normal(0, 0.3, (n, 6))
    everyone = np.ones(n, bool)
    linear = normative_deviation(matrix, covariates, everyone, seed=0)
    spline = normative_deviation(matrix, covariates, everyone, seed=0, spline={"age": 6})
    # with the curve modelled, the oldest and youngest are not flagged for their age alone
    extremes = (age < 48) | (age > 77)
    assert np.mean(spline.percentile[extremes] > 95) < 0.06 < 0.09 < np.mean(linear.percentile[extremes] > 95)


def test_robust_covariance_and_reduced_dimensions_run():
    population = planted_population(n=400, dims=16, seed=6)
    reference = population.subgroup == 0
    for options in ({"covariance": "min_cov_det"}, {"n_components": 5}):
        result = normative_deviation(population.matrix, population.covariates, reference, folds=3, **options)
        assert normative_metrics(result, population.subgroup)["normative_auroc_subgroup"] > 0.9


def test_no_patients_give_no_metrics_and_bad_settings_are_refused():
    population = planted_population(n=120, dims=8, seed=1, subgroups=False)
    result = normative_deviation(population.matrix, population.covariates, np.ones(120, bool), folds=2)
    assert normative_metrics(result, population.subgroup) == {}
    with pytest.raises(ValueError, match="folds must be >= 2"):
        normative_deviation(population.matrix, population.covariates, np.ones(120, bool), folds=1)
    with pytest.raises(ValueError, match="at least 2 \\* folds reference subjects"):
        normative_deviation(population.matrix, population.covariates, np.arange(120) < 5, folds=5)
    with pytest.raises(ValueError, match="covariance must be one of"):
        NormativeModel(covariance="empirical")
