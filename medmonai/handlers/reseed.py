"""Handler reseeding random transforms every epoch, so resumed runs draw exactly what uninterrupted runs draw."""

from __future__ import annotations

from collections.abc import Sequence

from ignite.engine import Engine, Events
from monai.transforms import Compose, Randomizable

__all__ = ["EpochReseed"]


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
