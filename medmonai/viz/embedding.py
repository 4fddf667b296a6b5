"""2-D views of latent codes for plotting."""

from __future__ import annotations

import numpy as np
from sklearn.manifold import TSNE

__all__ = ["embed_2d"]


def embed_2d(latents: np.ndarray, seed: int = 0) -> tuple[np.ndarray, str]:
    """Project ``(N, Z)`` codes to ``(N, 2)`` for a scatter plot.

    Z = 2 is returned as is; Z > 2 goes through scikit-learn's t-SNE (PCA init, seeded, perplexity capped by N);
    Z = 1 is spread vertically by seeded jitter.

    Returns:
        ``(points, method)`` with ``method`` in ``{"latent", "t-SNE", "jitter"}``.
    """
    latents = np.asarray(latents, dtype=np.float64)
    if latents.shape[1] == 2:
        return latents, "latent"
    if latents.shape[1] == 1:
        jitter = np.random.default_rng(seed).uniform(-0.5, 0.5, size=(latents.shape[0], 1))
        return np.hstack([latents, jitter]), "jitter"
    perplexity = float(min(30.0, max(2.0, (latents.shape[0] - 1) / 3.0)))
    tsne = TSNE(n_components=2, perplexity=perplexity, init="pca", random_state=seed)
    return tsne.fit_transform(latents), "t-SNE"
