import numpy as np
import pytest
from matplotlib.collections import PathCollection

from medmonai.apps.population import covariate_maps_figure, embedding_map
from tests.apps.population.conftest import planted_population


@pytest.fixture(scope="module")
def population():
    return planted_population(n=150, dims=64, seed=0)  # 64 > 50 dimensions: the PCA step runs


@pytest.mark.parametrize("method", ["umap", "tsne"])
def test_maps_are_seeded_and_keep_planted_groups_apart(population, method):
    # few UMAP epochs: numba's first compilation dominates, the optimisation need not converge here
    first = embedding_map(population.matrix, method, seed=3, n_epochs=30)
    again = embedding_map(population.matrix, method, seed=3, n_epochs=30)
    assert first.shape == (150, 2) and np.isfinite(first).all()
    np.testing.assert_allclose(first, again)
    # the subgroups (a large planted offset) sit apart: nearest neighbours on the map share the subgroup
    distances = np.linalg.norm(first[:, None] - first[None], axis=-1)
    np.fill_diagonal(distances, np.inf)
    nearest = distances.argmin(axis=1)
    assert (population.subgroup[nearest] == population.subgroup).mean() > 0.9


def test_figure_has_a_panel_per_covariate_with_legend_or_colorbar(population):
    points = np.random.default_rng(0).normal(size=(150, 2))
    covariates = {**population.covariates, "subgroup": population.subgroup}
    covariates["age"] = covariates["age"].copy()
    covariates["age"][:3] = np.nan  # missing values are drawn grey
    fig = covariate_maps_figure(points, covariates, {"sex", "site", "subgroup"}, "map")
    panels = {ax.get_title(): ax for ax in fig.axes if ax.get_title()}
    assert set(panels) == {"age", "sex", "site", "subgroup"}
    assert panels["site"].get_legend() is not None and len(panels["site"].get_legend().get_texts()) == 3
    assert panels["age"].get_legend() is not None  # only the "missing" entry
    assert any(ax.get_ylabel() == "age" for ax in fig.axes if not ax.get_title())  # the colour bar
    drawn = sum(len(c.get_offsets()) for c in panels["age"].collections if isinstance(c, PathCollection))
    assert drawn == 150


def test_bad_requests_are_refused(population):
    with pytest.raises(ValueError, match="method must be one of"):
        embedding_map(population.matrix, "pca")
    with pytest.raises(ValueError, match="at least 3 subjects"):
        embedding_map(population.matrix[:2], "tsne")
