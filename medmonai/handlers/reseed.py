"""Handlers reseeding per epoch: a resumed run draws what an uninterrupted run draws.

They reseed random transforms (:class:`EpochReseed`), streams and samplers (:class:`SetEpoch`), and each rank's
global generators in a multi-GPU run (:class:`RankSeeds`).
"""

from __future__ import annotations

import random
from collections.abc import Sequence

import numpy as np
import torch
from ignite.engine import Engine, Events
from monai.transforms import Compose, Randomizable

from medmonai.utils.distributed import rank

__all__ = ["EpochReseed", "RankSeeds", "SetEpoch"]


class EpochReseed:
    """At each epoch start, seed every random transform in ``transforms`` with ``seed + epoch``.

    MONAI transforms keep their own numpy ``RandomState``, which training checkpoints do not hold; reseeding per
    epoch makes epoch N's patches a function of (seed, N) alone, so resuming at epoch N reproduces them.

    Args:
        transforms: a ``Compose`` or a sequence of transforms.
        seed: base seed. Defaults to 0.
    """

    def __init__(self, transforms: Compose | Sequence, seed: int = 0) -> None:
        self.transforms = transforms
        self.seed = int(seed)

    def attach(self, engine: Engine) -> None:
        """Register one method per event."""
        engine.add_event_handler(Events.EPOCH_STARTED, self.epoch_started)

    def epoch_started(self, engine: Engine) -> None:
        """Reseed for this epoch."""
        items = self.transforms.flatten().transforms if isinstance(self.transforms, Compose) else self.transforms
        for i, transform in enumerate(items):
            if isinstance(transform, Randomizable):
                transform.set_random_state(seed=(self.seed + 1000 * engine.state.epoch + i) % (2**32))


class SetEpoch:
    """At each epoch start, call ``target.set_epoch(epoch)`` (0-based), e.g. on a stream or a distributed sampler.

    A shuffled stream's order is a function of (seed, epoch), so a run resumed at epoch N streams what an
    uninterrupted run streams there.

    Args:
        target: anything with ``set_epoch(int)``.
    """

    def __init__(self, target: object) -> None:
        if not callable(getattr(target, "set_epoch", None)):
            raise TypeError(f"{type(target).__name__} has no set_epoch(epoch)")
        self.target = target

    def attach(self, engine: Engine) -> None:
        """Register at ``EPOCH_STARTED``."""
        engine.add_event_handler(Events.EPOCH_STARTED, self.epoch_started)

    def epoch_started(self, engine: Engine) -> None:
        """Tell the target which epoch starts."""
        self.target.set_epoch(engine.state.epoch - 1)


class RankSeeds:
    """At every epoch start, seed torch, numpy and ``random`` from ``(seed, rank, epoch)``.

    Each rank then draws its own noise, latents and synthetic anomalies, where a shared seed would give every
    rank the same ones: a GAN step would show the same fake images N times. Each epoch's draws depend on
    ``(seed, rank, epoch)`` only, so a resumed run draws what an uninterrupted one draws, although the checkpoint
    holds rank 0's random state only.

    Args:
        seed: base seed. Defaults to 0.
    """

    def __init__(self, seed: int = 0) -> None:
        self.seed = int(seed)

    def attach(self, engine: Engine) -> None:
        """Register one method per event."""
        engine.add_event_handler(Events.EPOCH_STARTED, self.epoch_started)

    def epoch_started(self, engine: Engine) -> None:
        """Seed every generator for this rank and epoch."""
        value = int(np.random.SeedSequence([self.seed, rank(), engine.state.epoch]).generate_state(1)[0])
        torch.manual_seed(value)
        np.random.seed(value)
        random.seed(value)
