import numpy as np
import pytest
import statsmodels.api as sm
from matplotlib.figure import Figure
from statsmodels.stats.multitest import multipletests

from medmonai.apps.population import (
    CovariateDesign,
    association_features,
    covariate_association_table,
    covariate_tests,
    discovery_metrics,
    fdr,
    genomic_inflation,
    manhattan_figure,
    qq_figure,
    variant_tests,
)
from medmonai.data.readers.genotypes import read_genotypes
from tests.apps.population.conftest import planted_population, write_population


def _design(population):
    c = population.covariates
    return CovariateDesign(["age", "sex", "site"], ["site"]).fit(c).transform(c)


def _relative(a, b):
    return np.abs(a - b) / np.abs(b)


def test_variant_tests_equal_statsmodels_ols():
    population = planted_population(n=300, dims=6, n_variants=60, seed=1)
    design = _design(population)
    tests = variant_tests(population.matrix, population.dosages, design, chunk=16)  # chunks cross the checked ones
    for feature in (0, 3, 5):
        for variant in (3, 17, 20, 42, 59):
            x = sm.add_constant(np.column_stack([design, population.dosages[:, variant]]))
            fit = sm.OLS(population.matrix[:, feature], x).fit()
            assert _relative(tests.beta[variant, feature], fit.params[-1]) < 1e-8
            assert _relative(tests.se[variant, feature], fit.bse[-1]) < 1e-8
            assert _relative(tests.p[variant, feature], fit.pvalues[-1]) < 1e-8
            assert tests.dof == fit.df_resid


def test_covariate_tests_equal_statsmodels_ols():
    population = planted_population(n=200, dims=4, seed=2)
    design = _design(population)
    tests = covariate_tests(population.matrix, design)
    for feature in range(4):
        fit = sm.OLS(population.matrix[:, feature], sm.add_constant(design)).fit()
        np.testing.assert_allclose(tests.beta[:, feature], fit.params[1:], rtol=1e-8)
        np.testing.assert_allclose(tests.p[:, feature], fit.pvalues[1:], rtol=1e-8)


def test_a_variant_without_variation_is_not_tested():
    rng = np.random.default_rng(0)
    dosages = np.column_stack([rng.integers(0, 3, 50), np.ones(50)]).astype(np.int8)
    tests = variant_tests(rng.normal(size=(50, 3)), dosages)
    assert np.isfinite(tests.p[0]).all() and np.isnan(tests.p[1]).all()
    q, passed = fdr(tests.p)
    assert np.isnan(q[1]).all() and not passed[1].any()


def test_fdr_is_benjamini_hochberg_over_every_test():
    p = np.random.default_rng(3).uniform(size=(40, 5)) ** 3
    q, passed = fdr(p, 0.05)
    reject, expected, _, _ = multipletests(p.ravel(), alpha=0.05, method="fdr_bh")
    np.testing.assert_allclose(q.ravel(), expected)
    np.testing.assert_array_equal(passed.ravel(), reject)


@pytest.mark.parametrize("mode", ["pcs", "dims"])
def test_planted_variants_are_found_with_few_false_discoveries(mode):
    population = planted_population(n=600, dims=32, n_variants=120, seed=0)
    features, names = association_features(population.matrix, population.covariates, mode, categorical=["site"])
    assert features.shape == (600, 20 if mode == "pcs" else 32) and len(names) == features.shape[1]
    tests = variant_tests(features, population.dosages, _design(population))
    _, passed = fdr(tests.p)
    metrics = discovery_metrics(passed.any(axis=1), population.variant_names, population.causal)
    assert metrics["assoc_power"] == 1.0 and metrics["assoc_n_causal"] == 3
    assert metrics["assoc_fdp"] <= 0.25
    assert 0.8 < genomic_inflation(np.delete(tests.p, [3, 17, 42], axis=0)) < 1.25  # nulls stay calibrated


def test_nothing_is_found_when_no_variant_acts():
    population = planted_population(n=400, dims=16, n_variants=80, seed=4, variant_effect=0.0)
    features, _ = association_features(population.matrix, population.covariates, categorical=["site"])
    _, passed = fdr(variant_tests(features, population.dosages, _design(population)).p)
    metrics = discovery_metrics(passed.any(axis=1), population.variant_names, population.causal)
    assert metrics["assoc_power"] == 0.0 and metrics["assoc_fdp"] == 0.0 and metrics["assoc_n_found"] == 0


def test_discovery_metrics_count_power_and_false_discoveries():
    found = np.array([True, True, False, True])
    metrics = discovery_metrics(found, ["a", "b", "c", "d"], ["a", "c"])
    assert metrics == {"assoc_power": 0.5, "assoc_fdp": 2 / 3, "assoc_n_found": 3, "assoc_n_causal": 2}


def test_covariate_table_finds_what_each_dimension_encodes():
    rng = np.random.default_rng(5)
    n = 300
    covariates = {
        "age": rng.uniform(40, 80, n),
        "sex": rng.integers(0, 2, n) * 1.0,
        "site": rng.integers(0, 3, n) * 1.0,
    }
    features = rng.normal(size=(n, 3))
    features[:, 0] += 0.1 * covariates["age"]
    features[:, 1] += 2.0 * (covariates["site"] == 2)
    table = covariate_association_table(features, ["e0", "e1", "e2"], covariates, categorical=["site"])
    assert set(table["term"]) == {"age", "sex", "site=1", "site=2"}
    planted = table["feature"].eq("e0") & table["term"].eq("age") | table["feature"].eq("e1") & table["term"].eq(
        "site=2"
    )
    assert (table.loc[planted, "q"] < 1e-10).all()
    assert table.loc[~planted, "passed"].sum() <= 1  # 10 null pairs at FDR 5%


def test_figures_are_built(tmp_path):
    p = np.random.default_rng(0).uniform(size=(30, 4))
    assert isinstance(manhattan_figure(p.min(axis=1), 1e-3, np.arange(30) < 2), Figure)
    assert isinstance(qq_figure(p), Figure)


def test_written_population_reads_back(tmp_path):
    population = planted_population(n=50, dims=4, n_variants=50)
    paths = write_population(tmp_path, population)
    names, dosages = read_genotypes(paths["genotypes"], population.subject_ids[::-1])
    assert names == population.variant_names
    np.testing.assert_array_equal(dosages, population.dosages[::-1])


def test_simes_combines_each_variants_tests_into_one_p_value():
    from medmonai.apps.population import simes

    p = np.array([[0.01, 0.04, 0.5], [0.2, np.nan, 0.3], [np.nan, np.nan, np.nan], [1e-6, 0.9, 0.9]])
    expected = [min(3 * 0.01 / 1, 3 * 0.04 / 2, 3 * 0.5 / 3), min(2 * 0.2 / 1, 2 * 0.3 / 2), np.nan, 3e-6]
    np.testing.assert_allclose(simes(p), expected, rtol=1e-12)


def test_variant_level_fdr_keeps_null_variants_out_when_a_causal_variant_hits_many_features():
    from medmonai.apps.population import fdr, simes, variant_tests

    rng = np.random.default_rng(3)
    n, v, f = 600, 300, 20
    dosages = rng.binomial(2, 0.3, size=(n, v)).astype(float)
    features = rng.normal(size=(n, f))
    features[:, :12] += 0.5 * dosages[:, [0]]  # variant 0 shifts 12 correlated features strongly
    p = variant_tests(features, dosages).p
    found_by_variant = fdr(simes(p), 0.05)[1]
    assert found_by_variant[0] and found_by_variant[1:].sum() <= 1  # the 299 null variants stay out
