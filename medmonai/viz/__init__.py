"""Figures and projections for reports."""

from medmonai.viz.embedding import embed_2d
from medmonai.viz.figures import image_grid_figure, latent_scatter_figure

__all__ = ["embed_2d", "image_grid_figure", "latent_scatter_figure"]
