"""Figures and projections for reports."""

from medmonai.viz.embedding import embed_2d
from medmonai.viz.figures import histogram_figure, image_grid_figure, latent_scatter_figure

__all__ = ["embed_2d", "histogram_figure", "image_grid_figure", "latent_scatter_figure"]
