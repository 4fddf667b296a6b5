"""Handlers reseeding per epoch (random transforms, streams): a resumed run draws what an uninterrupted run draws."""

from __future__ import annotations

from collections.abc import Sequence

from ignite.engine import Engine, Events
from monai.transforms import Compose, Randomizable

__all__ = ["EpochReseed", "SetEpoch"]


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
