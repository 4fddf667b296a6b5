"""Handler of the population study: one embedding per subject (``embeddings.parquet``) when training completes."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import torch
from ignite.engine import Engine, Events
from torch import nn

from medmonai.apps.population.embed import embed_rows
from medmonai.apps.population.embeddings import write_embeddings

__all__ = ["EmbeddingExport"]

logger = logging.getLogger(__name__)


class EmbeddingExport:
    """At ``COMPLETED``, embed every subject with the trained model and write ``path`` (Parquet, by ``subject_id``).

    With ``baseline`` (the same architecture at random initialisation) its embeddings go to ``baseline_path``,
    the reference every self-supervised result is compared with. Attach it on rank 0 only under DDP: it writes.

    Args:
        path: the embeddings file.
        model: the trained model (``embed``), or a callable returning it (e.g. unwrapping DDP).
        images: ``rows -> (n, C, *spatial)`` images of every subject.
        subject_ids: ``(N,)`` the subjects, in row order.
        model_name: kept in the file's metadata. Defaults to "".
        baseline: an untrained model of the same architecture. Defaults to None.
        baseline_path: where its embeddings go. Defaults to None.
        batch_size: images per forward pass. Defaults to 32.
        device: where the models run. Defaults to "cpu".
    """

    def __init__(
        self,
        path: str | Path,
        model: nn.Module | Callable[[], nn.Module],
        images: Callable[[np.ndarray], np.ndarray],
        subject_ids: Sequence[str] | np.ndarray,
        model_name: str = "",
        baseline: nn.Module | None = None,
        baseline_path: str | Path | None = None,
        batch_size: int = 32,
        device: torch.device | str = "cpu",
    ) -> None:
        self.path = Path(path)
        self.model = model
        self.images = images
        self.subject_ids = np.asarray(subject_ids).astype(str)
        self.model_name = model_name
        self.baseline = baseline
        self.baseline_path = Path(baseline_path) if baseline_path else None
        self.batch_size = int(batch_size)
        self.device = device

    def attach(self, engine: Engine) -> None:
        """Register the export at ``COMPLETED``."""
        engine.add_event_handler(Events.COMPLETED, self)

    def _write(self, model: nn.Module, path: Path, name: str) -> None:
        rows = np.arange(len(self.subject_ids))
        matrix = embed_rows(model.to(self.device), self.images, rows, self.batch_size, self.device)
        write_embeddings(path, self.subject_ids, matrix, model=name)

    def __call__(self, engine: Engine | None = None) -> None:
        """Write the embeddings (and the baseline's)."""
        model = self.model if isinstance(self.model, nn.Module) else self.model()
        self._write(model, self.path, self.model_name)
        if self.baseline is not None and self.baseline_path is not None:
            self._write(self.baseline, self.baseline_path, f"{self.model_name} (random initialisation)")
