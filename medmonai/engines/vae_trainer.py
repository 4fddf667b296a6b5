"""Ignite/MONAI trainer step for autoencoders and VAEs, optionally denoising."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from monai.engines import SupervisedTrainer
from monai.engines.utils import IterationEvents

from medmonai.keys import Keys

__all__ = ["ReconstructionTrainer", "VAETrainer"]


class ReconstructionTrainer(SupervisedTrainer):
    """``SupervisedTrainer`` whose step fits an autoencoder to reconstruct its own (clean) input.

    The network returns a dict with ``recon`` (plus ``mu`` and ``logvar`` for a VAE). The loss is called as
    ``loss_function(recon, image)`` for an AE (e.g. ``torch.nn.MSELoss``) and as
    ``loss_function(recon, image, mu, logvar)`` for a VAE (see :class:`medmonai.losses.ELBOLoss`); labels are
    never used. With ``corruption`` (e.g. :class:`medmonai.transforms.CoarseNoise`) the network sees the
    corrupted batch and learns to restore the clean one: a denoising autoencoder.

    ``decollate`` defaults to False here: nothing in the step needs per-item outputs, and decollating every
    iteration costs real time (MONAI #8541). The output holds ``image`` and the detached scalar ``loss``.

    Args:
        *args: as for ``SupervisedTrainer``.
        corruption: callable applied to each input batch before the network. Defaults to None (plain AE).
        decollate: as for ``SupervisedTrainer``. Defaults to False.
        **kwargs: as for ``SupervisedTrainer``.
    """

    def __init__(
        self, *args: Any, corruption: Callable[[torch.Tensor], torch.Tensor] | None = None, decollate=False, **kwargs
    ) -> None:
        super().__init__(*args, decollate=decollate, **kwargs)
        self.corruption = corruption

    def _iteration(self, engine: ReconstructionTrainer, batchdata: dict[str, torch.Tensor]) -> dict:
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
    def _loss(engine: ReconstructionTrainer, inputs: torch.Tensor) -> torch.Tensor:
        seen = engine.corruption(inputs) if engine.corruption is not None else inputs
        out = engine.inferer(seen, engine.network)
        if Keys.MU in out:
            return engine.loss_function(out[Keys.RECON], inputs, out[Keys.MU], out[Keys.LOGVAR])
        return engine.loss_function(out[Keys.RECON], inputs)


class VAETrainer(ReconstructionTrainer):
    """The :class:`ReconstructionTrainer` under the name the VAE bundles use."""
