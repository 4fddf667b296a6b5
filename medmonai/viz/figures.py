"""Matplotlib figures. Each function returns a ``Figure``; no pyplot global state is touched."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from matplotlib import colormaps
from matplotlib.figure import Figure

__all__ = ["latent_scatter_figure", "image_grid_figure", "histogram_figure"]


def latent_scatter_figure(
    points: np.ndarray,
    labels: np.ndarray,
    title: str,
    axis_names: Sequence[str] = ("z[0]", "z[1]"),
    class_names: Mapping[int, str] | None = None,
) -> Figure:
    """Scatter of ``(N, 2)`` points coloured by integer class, with a legend.

    Args:
        points: ``(N, 2)`` coordinates.
        labels: ``(N,)`` integer classes.
        title: axes title.
        axis_names: x and y axis labels. Defaults to ``("z[0]", "z[1]")``.
        class_names: legend text per class. Defaults to the class number.
    """
    fig = Figure(figsize=(6.0, 5.5))
    ax = fig.add_subplot()
    classes = np.unique(labels)
    colors = _class_colors(len(classes))
    for color, c in zip(colors, classes, strict=True):
        sel = labels == c
        name = class_names.get(int(c), str(c)) if class_names else str(c)
        ax.scatter(points[sel, 0], points[sel, 1], s=10, alpha=0.75, color=color, label=f"{name} (n={sel.sum()})")
    ax.set_title(title)
    ax.set_xlabel(axis_names[0])
    ax.set_ylabel(axis_names[1])
    ax.legend(loc="best", fontsize=8, markerscale=2, frameon=True)
    return fig


def _class_colors(n: int) -> list:
    cmap = colormaps["tab10" if n <= 10 else "tab20"]
    return [cmap(i % cmap.N) for i in range(n)]


def image_grid_figure(
    rows: Sequence[np.ndarray], row_names: Sequence[str], title: str, cell_inches: float = 0.9
) -> Figure:
    """Grid of grayscale images, one row per array.

    Args:
        rows: arrays ``(N, H, W)`` (or ``(N, 1, H, W)``), values in [0, 1]; rows may differ in N.
        row_names: a label per row, drawn on its first image.
        title: figure title.
        cell_inches: size of one image. Defaults to 0.9.
    """
    rows = [np.asarray(r).reshape(len(r), *np.asarray(r).shape[-2:]) for r in rows]
    ncols = max(len(r) for r in rows)
    fig = Figure(figsize=(cell_inches * ncols, cell_inches * len(rows) + 0.5))
    axes = fig.subplots(len(rows), ncols, squeeze=False)
    for r, (images, name) in enumerate(zip(rows, row_names, strict=True)):
        for c in range(ncols):
            ax = axes[r][c]
            ax.set_xticks([])
            ax.set_yticks([])
            if c < len(images):
                ax.imshow(images[c], cmap="gray", vmin=0.0, vmax=1.0, interpolation="nearest")
            else:
                ax.set_axis_off()
        axes[r][0].set_ylabel(name, fontsize=9)
    fig.suptitle(title)
    return fig


def histogram_figure(
    groups: Mapping[str, np.ndarray], xlabel: str, title: str, bins: int = 30, log_count: bool = True
) -> Figure:
    """Overlaid histograms of named value groups on shared bins.

    Args:
        groups: name -> 1-D values.
        xlabel: x axis label.
        title: axes title.
        bins: number of shared bins. Defaults to 30.
        log_count: logarithmic count axis. Defaults to True.
    """
    fig = Figure(figsize=(6.0, 4.0))
    ax = fig.add_subplot()
    everything = np.concatenate([np.asarray(v, dtype=np.float64) for v in groups.values()])
    edges = np.histogram_bin_edges(everything, bins=bins)
    for color, (name, values) in zip(_class_colors(len(groups)), groups.items(), strict=True):
        ax.hist(values, bins=edges, alpha=0.6, color=color, label=f"{name} (n={len(values)})", log=log_count)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("count")
    ax.set_title(title)
    ax.legend(fontsize=8)
    return fig
