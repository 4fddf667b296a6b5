"""MONAI's ``SupervisedTrainer`` driving self-supervised models that compute their own loss from unlabelled images.

Every self-supervised model in :mod:`medmonai.networks.ssl` follows one protocol: ``training_loss(images)``
returns a dict with a scalar ``"loss"`` (plus scalars worth logging), drawing its own patches, views or noise
from the batch; ``embed(images)`` returns one vector per image. :class:`SelfSupervisedObjective` makes
``training_loss`` the module's ``forward``, so the module can be wrapped in ``DistributedDataParallel`` (DDP
synchronises gradients only for what runs through its ``forward``), and :class:`SelfSupervisedTrainer` is MONAI's
own step on it: every ``IterationEvents`` fires, and AMP and gradient accumulation work as in MONAI.
"""

from __future__ import annotations

from typing import Any

import torch
from monai.engines import SupervisedTrainer
from torch import nn

from medmonai.engines.vae_trainer import CorruptedBatch

__all__ = ["SelfSupervisedObjective", "SelfSupervisedTrainer", "objective_loss"]


class SelfSupervisedObjective(nn.Module):
    """``forward(images) = model.training_loss(images)``: the module a trainer (and DDP) drives.

    Args:
        model: a self-supervised model with ``training_loss`` and ``embed``.
    """

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        if not callable(getattr(model, "training_loss", None)):
            raise TypeError(f"{type(model).__name__} has no training_loss(images): not a self-supervised model")
        self.model = model

    def forward(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
        """The model's losses on a batch of images."""
        return self.model.training_loss(images)


def objective_loss(output: dict[str, torch.Tensor], target: Any = None) -> torch.Tensor:
    """The ``"loss"`` entry of a self-supervised model's output (the target is unused: there are no labels)."""
    return output["loss"]


class SelfSupervisedTrainer(SupervisedTrainer):
    """``SupervisedTrainer`` whose network is a :class:`SelfSupervisedObjective`: images in, losses out, no labels.

    The iteration output is MONAI's: ``image``, ``pred`` (the model's dict of losses) and ``loss``. ``decollate``
    defaults to False: nothing here needs per-item outputs (MONAI #8541).

    Args:
        *args: as for ``SupervisedTrainer``.
        network: a :class:`SelfSupervisedObjective`, possibly wrapped in ``DistributedDataParallel``.
        decollate: as for ``SupervisedTrainer``. Defaults to False.
        **kwargs: as for ``SupervisedTrainer`` (not ``loss_function`` or ``prepare_batch``).
    """

    def __init__(self, *args: Any, network: nn.Module, decollate: bool = False, **kwargs: Any) -> None:
        if not isinstance(getattr(network, "module", network), SelfSupervisedObjective):
            raise TypeError("SelfSupervisedTrainer drives a SelfSupervisedObjective(model) (optionally in DDP)")
        super().__init__(
            *args,
            network=network,
            loss_function=objective_loss,
            prepare_batch=CorruptedBatch(),
            decollate=decollate,
            **kwargs,
        )
