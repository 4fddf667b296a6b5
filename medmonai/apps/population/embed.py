"""One embedding per subject from a trained self-supervised model, in batches, in the model's eval mode."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from torch import nn

__all__ = ["embed_rows"]


def embed_rows(
    model: nn.Module,
    images: Callable[[np.ndarray], np.ndarray],
    rows: np.ndarray,
    batch_size: int = 32,
    device: torch.device | str = "cpu",
    method: str | None = "embed",
) -> np.ndarray:
    """``model.embed`` (or ``model``) of the images at ``rows``, float32 in row order; the train mode is restored.

    Args:
        model: a model with ``embed(images) -> (B, D)``.
        images: ``rows -> (n, C, *spatial)`` images (e.g. read from the preprocessed shards).
        rows: which images, in output order.
        batch_size: images per forward pass. Defaults to 32.
        device: where the model runs. Defaults to "cpu".
        method: the model's method to call; None calls the model itself. Defaults to ``"embed"``.
    """
    compute = getattr(model, method) if method else model
    was_training = model.training
    model.eval()
    out = []
    try:
        with torch.no_grad():
            for start in range(0, len(rows), batch_size):
                batch = torch.as_tensor(images(rows[start : start + batch_size]), dtype=torch.float32, device=device)
                out.append(compute(batch).float().cpu().numpy())
    finally:
        model.train(was_training)
    return np.concatenate(out).astype(np.float32)
