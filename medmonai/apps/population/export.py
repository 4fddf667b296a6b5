"""Handlers of the population study writing one embedding per subject (``embeddings.parquet``).

- :class:`EmbeddingExport`: when training completes, every cached subject through the trained model (and the
  same architecture untrained, the baseline);
- :class:`EmbeddingWriter`: an evaluator's handler, collecting what it computed per batch, for new subjects.
"""

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
from medmonai.engines.collect import ScoreBuffer

__all__ = ["EmbeddingExport", "EmbeddingWriter"]

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


class EmbeddingWriter(ScoreBuffer):
    """Collect an evaluator's embeddings (``output["pred"]``, ``batch["subject_id"]``) and write them at ``COMPLETED``.

    The population study's configuration of the detection pipeline's collector: it collects and reports, without
    thresholds. The evaluator runs the bundle's ``network_def`` (images in, embeddings out) with
    ``decollate=False``, so each iteration's output holds the whole batch.

    Args:
        path: the embeddings file.
        model_name: kept in the file's metadata. Defaults to "".
    """

    def __init__(self, path: str | Path, model_name: str = "") -> None:
        super().__init__(output_keys=("pred",), batch_keys=("subject_id",))
        self.path = Path(path)
        self.model_name = model_name

    def completed(self, engine: Engine) -> None:
        """Write every collected embedding (float32), in the order the subjects came."""
        ids = [str(s) for s in self.values("subject_id")]
        write_embeddings(self.path, ids, self.values("pred").astype(np.float32), model=self.model_name)
