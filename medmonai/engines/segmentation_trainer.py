"""The trainer of self-supervised anomaly segmenters: find synthetic anomalies in healthy patches."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from medmonai.engines.vae_trainer import ReconstructionTrainer

__all__ = ["AnomalySegmentationTrainer"]


class AnomalySegmentationTrainer(ReconstructionTrainer):
    """A :class:`ReconstructionTrainer` whose corruption is required and returns ``(corrupted batch, target)``.

    Every batch of healthy patches goes through ``corruption``, which returns the corrupted batch and a
    ``(B, 1, ...)`` target in [0, 1] (see :class:`medmonai.transforms.SyntheticAnomalies`); the network maps the
    corrupted batch to logits and the loss is ``loss_function(logits, target)``, e.g.
    ``torch.nn.BCEWithLogitsLoss``. Labels of the data set are never used, so training needs healthy volumes only.

    Args:
        *args: as for ``SupervisedTrainer``.
        corruption: ``batch -> (corrupted batch, target)``; required.
        **kwargs: as for :class:`ReconstructionTrainer`.

    Raises:
        TypeError: no ``corruption`` given.
    """

    def __init__(
        self,
        *args: Any,
        corruption: Callable[[torch.Tensor], tuple[torch.Tensor, torch.Tensor]] | None = None,
        **kwargs: Any,
    ) -> None:
        if corruption is None:
            raise TypeError("AnomalySegmentationTrainer needs a corruption returning (corrupted batch, target)")
        super().__init__(*args, corruption=corruption, **kwargs)
