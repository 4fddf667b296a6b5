"""MONAI's ``SupervisedTrainer`` set up to train autoencoders and VAEs, optionally denoising.

The step is MONAI's own (every ``IterationEvents`` fires, AMP, ``compile`` and gradient accumulation work as in
MONAI); only what goes in and how the loss reads the network's output are ours:

- :class:`CorruptedBatch` is the ``prepare_batch``: ``(corrupted image, target)`` from a batch of healthy images;
- :class:`OutputLoss` calls a loss on the entries of a dict-returning network's output that the loss declares.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch
from monai.engines import SupervisedTrainer
from torch import nn

from medmonai.keys import Keys

__all__ = ["CorruptedBatch", "OutputLoss", "ReconstructionTrainer"]


class CorruptedBatch:
    """A MONAI ``prepare_batch`` for self-supervised steps: ``(network input, target)`` from ``batch["image"]``.

    Without ``corruption`` both are the image (a plain autoencoder). A corruption returning a tensor gives
    ``(corrupted, clean image)``: a denoising autoencoder. A corruption returning a pair gives that pair, e.g.
    ``(image with synthetic anomalies, where they are)`` for an anomaly segmenter. Labels are never used.

    Args:
        corruption: ``image -> corrupted`` or ``image -> (corrupted, target)``. Defaults to None.
    """

    def __init__(self, corruption: Callable | None = None) -> None:
        self.corruption = corruption

    def __call__(
        self, batchdata: dict, device: torch.device | str | None = None, non_blocking: bool = False, **kwargs: Any
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Move the images to ``device``, then corrupt them."""
        image = batchdata[Keys.IMAGE].to(device=device, non_blocking=non_blocking, **kwargs)
        if self.corruption is None:
            return image, image
        out = self.corruption(image)
        return out if isinstance(out, tuple) else (out, image)


class OutputLoss(nn.Module):
    """``loss(output[k0], target, output[k1], ...)`` for a network that returns a dict.

    The keys are the loss's own declaration, its ``output_keys`` attribute (:class:`medmonai.losses.ELBOLoss`
    declares ``recon``, ``mu`` and ``logvar``), else ``keys``. A network that returns a tensor passes it as is.

    Args:
        loss: a loss taking ``(prediction, target, *extra)``, e.g. ``torch.nn.MSELoss()``.
        keys: output entries to pass when the loss declares none. Defaults to ``("recon",)``.
    """

    def __init__(self, loss: Callable, keys: Sequence[str] = (Keys.RECON,)) -> None:
        super().__init__()
        self.loss = loss
        self.keys = tuple(getattr(loss, "output_keys", keys))

    def forward(self, output: torch.Tensor | dict, target: torch.Tensor) -> torch.Tensor:
        """The loss of ``output`` against ``target``."""
        if isinstance(output, torch.Tensor):
            return self.loss(output, target)
        first, *extra = (output[k] for k in self.keys)
        return self.loss(first, target, *extra)


class ReconstructionTrainer(SupervisedTrainer):
    """``SupervisedTrainer`` that fits a network to its own healthy images, through :class:`CorruptedBatch`.

    - an autoencoder reconstructs its (clean) input: ``loss_function(recon, image)``, e.g. ``torch.nn.MSELoss``;
    - a VAE: ``loss_function(recon, image, mu, logvar)`` (:class:`medmonai.losses.ELBOLoss`);
    - with ``corruption`` (e.g. :class:`medmonai.transforms.CoarseNoise`) the network sees the corrupted batch and
      learns to restore the clean one: a denoising autoencoder;
    - with a corruption that returns ``(corrupted, target)`` (e.g. :class:`medmonai.transforms.SyntheticAnomalies`)
      the network learns to segment what was changed: ``loss_function(logits, target)``, e.g.
      ``torch.nn.BCEWithLogitsLoss``.

    ``decollate`` defaults to False here: nothing in the step needs per-item outputs, and decollating every
    iteration costs real time (MONAI #8541). The output is MONAI's: ``image`` (what the network saw), ``label``
    (the target), ``pred`` and ``loss``.

    Args:
        *args: as for ``SupervisedTrainer``.
        loss_function: the loss, wrapped in :class:`OutputLoss`.
        corruption: see :class:`CorruptedBatch`. Defaults to None (a plain autoencoder).
        decollate: as for ``SupervisedTrainer``. Defaults to False.
        **kwargs: as for ``SupervisedTrainer`` (not ``prepare_batch``, which is :class:`CorruptedBatch`).
    """

    def __init__(
        self,
        *args: Any,
        loss_function: Callable,
        corruption: Callable | None = None,
        decollate: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            *args,
            loss_function=OutputLoss(loss_function),
            prepare_batch=CorruptedBatch(corruption),
            decollate=decollate,
            **kwargs,
        )
