"""Ignite/MONAI trainer step for VAEs."""

from __future__ import annotations

from typing import Any

import torch
from monai.engines import SupervisedTrainer
from monai.engines.utils import IterationEvents

from medmonai.keys import Keys

__all__ = ["VAETrainer"]


class VAETrainer(SupervisedTrainer):
    """``SupervisedTrainer`` whose step fits a VAE to its own input with an ELBO-style loss.

    The network returns ``{"recon", "mu", "logvar", "z"}`` and the loss is called as
    ``loss_function(recon, image, mu, logvar)`` (see :class:`medmonai.losses.ELBOLoss`); labels are never used.
    ``decollate`` defaults to False here: nothing in a VAE step needs per-item outputs, and decollating every
    iteration costs real time (MONAI #8541). The output holds ``image`` and the detached scalar ``loss``.

    Args:
        *args: as for ``SupervisedTrainer``.
        decollate: as for ``SupervisedTrainer``. Defaults to False.
        **kwargs: as for ``SupervisedTrainer``.
    """

    def __init__(self, *args: Any, decollate: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, decollate=decollate, **kwargs)

    def _iteration(self, engine: VAETrainer, batchdata: dict[str, torch.Tensor]) -> dict:
        if batchdata is None:
            raise ValueError("Must provide batch data for current iteration.")
        inputs = engine.prepare_batch(batchdata, engine.state.device, engine.non_blocking, **engine.to_kwargs)[0]
        if not engine.network.training:  # an O(1) check; walking every module each step costs ~2%
            engine.network.train()
        engine.optimizer.zero_grad(set_to_none=engine.optim_set_to_none)
        if engine.amp and engine.scaler is not None:
            with torch.autocast("cuda", **engine.amp_kwargs):
                loss = self._loss(engine, inputs)
            engine.scaler.scale(loss).backward()
            engine.scaler.step(engine.optimizer)
            engine.scaler.update()
        else:
            loss = self._loss(engine, inputs)
            loss.backward()
            engine.optimizer.step()
        engine.state.output = {Keys.IMAGE: inputs, Keys.LOSS: loss.detach()}
        engine.fire_event(IterationEvents.MODEL_COMPLETED)
        return engine.state.output

    @staticmethod
    def _loss(engine: VAETrainer, inputs: torch.Tensor) -> torch.Tensor:
        out = engine.inferer(inputs, engine.network)
        return engine.loss_function(out[Keys.RECON], inputs, out[Keys.MU], out[Keys.LOGVAR])
