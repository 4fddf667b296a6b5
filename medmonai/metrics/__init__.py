"""Metrics: pure functions on arrays, reused by handlers and bundles."""

from medmonai.metrics.latent import latent_separation

__all__ = ["latent_separation"]
