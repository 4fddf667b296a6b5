"""Evaluator for VAEs: per-image ELBO terms and latent codes."""

from __future__ import annotations

from typing import Any

import torch
from monai.engines import SupervisedEvaluator
from monai.engines.utils import IterationEvents
from monai.networks.utils import eval_mode

from medmonai.errors import ConfigError
from medmonai.keys import Keys
from medmonai.losses.elbo import RECONSTRUCTION_LOSSES
from medmonai.scoring.images import elbo_terms

__all__ = ["VAEEvaluator"]


class VAEEvaluator(SupervisedEvaluator):
    """``SupervisedEvaluator`` that scores each image under a VAE.

    Per batch the output holds ``image``, ``label``, ``mu``, ``logvar`` and the per-image ``(B,)`` tensors
    ``recon_nll``, ``kl``, ``elbo = -(recon_nll + kl)`` and the anomaly ``score = recon_nll + kl``. ``recon_nll``
    is the mean over ``n_samples`` draws ``z_i ~ q(z|x)``, so the ELBO is an L-sample Monte-Carlo estimate with
    beta = 1, whatever beta training used. Sampling runs under a forked RNG seeded with ``seed``: validation is
    repeatable and never shifts the training RNG, so resumed runs match uninterrupted ones exactly.

    Args:
        *args: as for ``SupervisedEvaluator``.
        reconstruction: reconstruction term, ``"bce"``, ``"mse"`` or ``"l1"``. Defaults to ``"bce"``.
        seed: seed of the posterior samples. Defaults to 0.
        n_samples: posterior samples per image, L >= 1; needs a network with ``encode`` and ``decode`` when
            above 1. Defaults to 1.
        mean_reconstruction: also output ``recon``, the decoded posterior mean, for pixel-wise maps. Defaults to
            False.
        decollate: as for ``SupervisedEvaluator``. Defaults to False.
        **kwargs: as for ``SupervisedEvaluator``.

    Raises:
        ConfigError: unknown ``reconstruction``.
    """

    def __init__(
        self,
        *args: Any,
        reconstruction: str = "bce",
        seed: int = 0,
        n_samples: int = 1,
        mean_reconstruction: bool = False,
        decollate: bool = False,
        **kwargs: Any,
    ) -> None:
        if reconstruction not in RECONSTRUCTION_LOSSES:
            raise ConfigError(f"reconstruction must be one of {RECONSTRUCTION_LOSSES}, got {reconstruction!r}")
        if n_samples < 1:
            raise ConfigError(f"n_samples must be >= 1, got {n_samples}")
        self.n_samples = int(n_samples)
        self.mean_reconstruction = bool(mean_reconstruction)
        super().__init__(*args, decollate=decollate, **kwargs)
        self.reconstruction = reconstruction
        self.seed = seed

    def run(self, global_epoch: int = 1) -> None:
        """Evaluate once, with posterior sampling seeded independently of the caller's RNG."""
        device = self.state.device
        cuda = [device.index or 0] if device is not None and device.type == "cuda" else []
        with torch.random.fork_rng(devices=cuda):
            torch.manual_seed(self.seed)
            super().run(global_epoch)

    def _iteration(self, engine: VAEEvaluator, batchdata: dict[str, torch.Tensor]) -> dict:
        if batchdata is None:
            raise ValueError("Must provide batch data for current iteration.")
        batch = engine.prepare_batch(batchdata, engine.state.device, engine.non_blocking, **engine.to_kwargs)
        inputs, labels = batch[0], batch[1]
        with eval_mode(engine.network), torch.no_grad():
            out = engine.inferer(inputs, engine.network, sample=True)
            nll, kl = elbo_terms(engine.network, out, inputs, self.reconstruction, self.n_samples)
            recon = engine.network.decode(out[Keys.MU]) if self.mean_reconstruction else None
        engine.state.output = {
            Keys.IMAGE: inputs,
            Keys.LABEL: labels,
            Keys.MU: out[Keys.MU],
            Keys.LOGVAR: out[Keys.LOGVAR],
            Keys.RECON_NLL: nll,
            Keys.KL: kl,
            Keys.ELBO: -(nll + kl),
            Keys.SCORE: nll + kl,  # the VAE anomaly score: the negative ELBO
        }
        if recon is not None:
            engine.state.output[Keys.RECON] = recon
        engine.fire_event(IterationEvents.MODEL_COMPLETED)
        return engine.state.output
