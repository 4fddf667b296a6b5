"""2-D maps of an embedding (UMAP and t-SNE), one panel per covariate, so one sees what organises the embedding.

The embedding is first reduced to at most 50 principal components (the usual step before both methods: it drops
noise and makes the neighbour search cheap). UMAP is umap-learn's; t-SNE is scikit-learn's; both are seeded, so a
rerun draws the same map. Continuous covariates are drawn with a colour map and a colour bar, categorical ones with
one colour per level and a legend.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Mapping

import numpy as np
from matplotlib import colormaps
from matplotlib.figure import Figure
from sklearn.decomposition import PCA
from threadpoolctl import threadpool_limits

from medmonai.viz.embedding import embed_2d

__all__ = ["MAP_METHODS", "covariate_maps_figure", "embedding_map"]

logger = logging.getLogger(__name__)

MAP_METHODS = ("umap", "tsne")
_PCA_DIMS = 50


def embedding_map(matrix: np.ndarray, method: str = "umap", seed: int = 0, n_epochs: int | None = None) -> np.ndarray:
    """``(N, 2)`` coordinates of an ``(N, D)`` embedding.

    Args:
        matrix: ``(N, D)`` embeddings, N >= 3.
        method: ``"umap"`` or ``"tsne"``. Defaults to ``"umap"``.
        seed: the map's seed. Defaults to 0.
        n_epochs: UMAP optimisation epochs; None lets umap-learn choose (200 for large data, 500 for small).
            Defaults to None.

    Raises:
        ValueError: an unknown ``method`` or fewer than 3 subjects.
    """
    if method not in MAP_METHODS:
        raise ValueError(f"method must be one of {MAP_METHODS}, got {method!r}")
    matrix = np.asarray(matrix, dtype=np.float64)
    if matrix.shape[0] < 3:
        raise ValueError(f"a map needs at least 3 subjects, got {matrix.shape[0]}")
    if matrix.shape[1] > _PCA_DIMS:
        matrix = PCA(n_components=min(_PCA_DIMS, matrix.shape[0]), random_state=seed).fit_transform(matrix)
    if method == "tsne":
        # Barnes-Hut t-SNE's OpenMP threads busy-wait: on a shared or busy machine they run ten times slower than
        # one thread, and on two idle cores they save little, so the map is drawn single-threaded.
        with threadpool_limits(limits=1):
            return embed_2d(matrix, seed)[0]
    import umap  # imported here: numba compiles on first use, which only the UMAP map needs

    reducer = umap.UMAP(n_neighbors=min(15, matrix.shape[0] - 1), random_state=seed, n_epochs=n_epochs, n_jobs=1)
    return np.asarray(reducer.fit_transform(matrix), dtype=np.float64)


def _panel(ax, fig: Figure, points: np.ndarray, name: str, values: np.ndarray, categorical: bool) -> None:
    values = np.asarray(values, dtype=np.float64)
    known = np.isfinite(values)
    if (~known).any():
        ax.scatter(points[~known, 0], points[~known, 1], s=5, color="0.8", label=f"missing (n={(~known).sum()})")
    if categorical:
        levels = np.unique(values[known])
        cmap = colormaps["tab10" if len(levels) <= 10 else "tab20"]
        for i, level in enumerate(levels):
            chosen = values == level
            ax.scatter(*points[chosen].T, s=6, color=cmap(i % cmap.N), label=f"{level:g} (n={chosen.sum()})")
        ax.legend(fontsize=7, markerscale=2, loc="best", title=name, title_fontsize=7)
    else:
        drawn = ax.scatter(*points[known].T, s=6, c=values[known], cmap="viridis")
        fig.colorbar(drawn, ax=ax, shrink=0.8, label=name)
        if (~known).any():
            ax.legend(fontsize=7, markerscale=2, loc="best")
    ax.set_title(name, fontsize=10)
    ax.set_xticks([])
    ax.set_yticks([])


def covariate_maps_figure(
    points: np.ndarray, covariates: Mapping[str, np.ndarray], categorical: Collection[str], title: str
) -> Figure:
    """One scatter panel of the map per covariate.

    Args:
        points: ``(N, 2)`` map coordinates.
        covariates: ``{name: (N,)}`` values (NaN drawn grey as missing).
        categorical: the names drawn by level with a legend (the others with a colour bar).
        title: the figure's title.
    """
    names = list(covariates) or ["(none)"]
    columns = min(3, len(names))
    rows = -(-len(names) // columns)
    fig = Figure(figsize=(4.4 * columns, 3.9 * rows))
    axes = fig.subplots(rows, columns, squeeze=False).ravel()
    for ax, name in zip(axes, names, strict=False):
        if name in covariates:
            _panel(ax, fig, points, name, covariates[name], name in categorical)
        else:
            ax.scatter(*points.T, s=6, color="0.3")
    for ax in axes[len(names) :]:
        ax.set_axis_off()
    fig.suptitle(title)
    return fig
