import numpy as np
import pytest
from matplotlib.figure import Figure

from medmonai.apps.population import (
    adjusted_features,
    cluster_covariate_table,
    find_subgroups,
    selection_figure,
    subgroup_metrics,
)
from tests.apps.population.conftest import planted_population

ADJUST = ("age", "sex", "site")


def _site_dominated(seed: int = 3):
    """The planted population plus a site effect that dwarfs the subgroups, as scanners do in real cohorts."""
    population = planted_population(n=500, dims=32, seed=seed)
    rng = np.random.default_rng(seed + 100)
    site = population.covariates["site"]
    onehot = np.column_stack([site == 1, site == 2]).astype(float)
    return population, population.matrix + onehot @ (5.0 * rng.normal(size=(2, 32)))


def test_planted_subgroups_are_recovered_with_the_right_k():
    population, matrix = _site_dominated()
    features = adjusted_features(matrix, population.covariates, ADJUST, ["site"], population.subgroup == 0)
    assert features.shape == (500, 10)
    result = find_subgroups(features, range(1, 9), seed=0)
    metrics = subgroup_metrics(result, population.subgroup)
    assert metrics["cluster_k_gmm_bic"] == 3 and metrics["cluster_k_kmeans_silhouette"] == 3
    assert metrics["cluster_ari_subgroup"] > 0.9 and metrics["cluster_ari_subgroup_kmeans_silhouette"] > 0.9
    assert set(result.bic) == set(range(1, 9)) and set(result.silhouette) == set(range(2, 9))


def test_without_adjustment_the_site_takes_the_clusters():
    population, matrix = _site_dominated()
    raw = find_subgroups(adjusted_features(matrix, population.covariates, (), ["site"]), range(1, 9), seed=0)
    assert subgroup_metrics(raw, population.subgroup)["cluster_ari_subgroup"] < 0.5  # adjusted: > 0.9 above


def test_no_planted_groups_give_chance_agreement():
    population = planted_population(n=500, dims=32, seed=3, subgroups=False)
    result = find_subgroups(adjusted_features(population.matrix, population.covariates, ADJUST, ["site"]), seed=0)
    random_groups = np.random.default_rng(0).choice(3, size=500, p=[0.6, 0.2, 0.2]).astype(float)
    metrics = subgroup_metrics(result, random_groups, primary="kmeans_silhouette")
    assert result.k["gmm_bic"] == 1  # BIC prefers one Gaussian when there is one
    assert abs(metrics["cluster_ari_subgroup_gmm_bic"]) < 0.05 and abs(metrics["cluster_ari_subgroup"]) < 0.05


def test_clusters_are_seeded():
    population, matrix = _site_dominated(seed=5)
    features = adjusted_features(matrix, population.covariates, ADJUST, ["site"])
    first, second = find_subgroups(features, (2, 3, 4), seed=7), find_subgroups(features, (2, 3, 4), seed=7)
    for method in first.labels:
        np.testing.assert_array_equal(first.labels[method], second.labels[method])


def test_truth_rows_with_missing_values_are_left_out_of_the_ari():
    population, matrix = _site_dominated()
    result = find_subgroups(adjusted_features(matrix, population.covariates, ADJUST, ["site"]), (2, 3), seed=0)
    truth = population.subgroup.copy()
    truth[:50] = np.nan
    assert np.isfinite(subgroup_metrics(result, truth)["cluster_ari_subgroup"])


def test_cluster_table_counts_levels_and_averages_the_rest():
    labels = np.array([0, 0, 1, 1, 1])
    covariates = {"age": np.array([50.0, 60.0, 70.0, 80.0, np.nan]), "site": np.array([0.0, 1.0, 1.0, 1.0, 0.0])}
    table = cluster_covariate_table(labels, covariates, {"site"})
    assert table.loc[0, "n"] == 2 and table.loc[1, "n"] == 3
    assert table.loc[0, "mean_age"] == 55.0 and table.loc[1, "mean_age"] == 75.0
    assert table.loc[1, "site=1"] == 2 and table.loc[1, "site=0"] == 1 and table.loc[0, "site=0"] == 1


def test_bad_settings_are_refused():
    features = np.random.default_rng(0).normal(size=(20, 3))
    with pytest.raises(ValueError, match="k_values must hold a k in"):
        find_subgroups(features, (1,))
    with pytest.raises(ValueError, match="primary must be one of"):
        subgroup_metrics(find_subgroups(features, (2,)), None, primary="dbscan")


def test_selection_figure_is_built():
    features = np.random.default_rng(0).normal(size=(60, 3))
    assert isinstance(selection_figure(find_subgroups(features, (1, 2, 3))), Figure)
