"""Evaluator scoring each image by its mean reconstruction error."""

from __future__ import annotations

from typing import Any

import torch
from monai.engines import Evaluator
from monai.engines.utils import IterationEvents
from torch import nn
from torch.utils.data import DataLoader

from medmonai.keys import Keys
from medmonai.scoring.images import reconstruction_error

__all__ = ["ReconstructionErrorEvaluator"]


class ReconstructionErrorEvaluator(Evaluator):
    """Evaluator whose output is each image's mean per-pixel reconstruction error (BCE by default, as Keras reports).

    Batches hold ``image`` ``(B, C, H, W)`` in [0, 1] and an integer ``label``; the output holds ``score``
    ``(B,)``, ``label`` ``(B,)``, ``image`` and ``recon``. The network is put in eval mode (VAEs decode the mean).

    Args:
        device: where the network runs.
        val_data_loader: the images.
        network: returns a dict with ``recon``.
        reconstruction: ``"bce"``, ``"mse"`` or ``"l1"``. Defaults to ``"bce"``.
        **kwargs: as for MONAI's ``Evaluator``.
    """

    def __init__(
        self,
        device: torch.device | str,
        val_data_loader: DataLoader,
        network: nn.Module,
        reconstruction: str = "bce",
        **kwargs: Any,
    ) -> None:
        super().__init__(device=device, val_data_loader=val_data_loader, decollate=False, **kwargs)
        self.network = network
        self.reconstruction = reconstruction

    def _iteration(self, engine: ReconstructionErrorEvaluator, batchdata: dict[str, Any]) -> dict:
        images = batchdata[Keys.IMAGE].to(engine.state.device)
        engine.network.eval()
        with torch.inference_mode():
            recon = engine.network(images)[Keys.RECON]
            error = reconstruction_error(recon, images, engine.reconstruction)
        engine.state.output = {
            Keys.SCORE: error.cpu(),
            Keys.LABEL: torch.as_tensor(batchdata[Keys.LABEL]),
            Keys.IMAGE: images.cpu(),
            Keys.RECON: recon.cpu(),
        }
        engine.fire_event(IterationEvents.MODEL_COMPLETED)
        return engine.state.output
