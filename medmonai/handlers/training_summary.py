"""Handler recording training throughput and a run summary."""

from __future__ import annotations

import logging
import time
from pathlib import Path

from ignite.engine import Engine, Events

from medmonai.keys import Keys
from medmonai.utils.distributed import world_size
from medmonai.utils.outputs import atomic_write_bytes, json_bytes

__all__ = ["TrainingSummary"]

logger = logging.getLogger(__name__)


class TrainingSummary:
    """Measure training images per second and write ``train_summary.json`` when training completes.

    The clock runs from each epoch's start to its last iteration, so validation and checkpointing at epoch end
    are excluded while data loading, the step and every per-iteration handler are included. A rerun that had
    nothing left to train keeps the earlier summary.

    Under ``torchrun`` it runs on rank 0 only and counts for the whole job: rank 0's images times the number of
    processes, since DDP makes every rank take the same steps on equal shares (a distributed sampler's padding
    repeats included). ``processes`` records the count.

    Args:
        summary_path: the JSON file to write.
        image_key: batch key whose first dim is the number of images. Defaults to ``"image"``.
    """

    def __init__(self, summary_path: str | Path, image_key: str = Keys.IMAGE) -> None:
        self.summary_path = Path(summary_path)
        self.image_key = image_key
        self.images = 0
        self.seconds = 0.0
        self.first_epoch = 0
        self._epoch_start = 0.0
        self._last_iteration = 0.0

    def attach(self, engine: Engine) -> None:
        """Register one method per event."""
        engine.add_event_handler(Events.STARTED, self.started)
        engine.add_event_handler(Events.EPOCH_STARTED, self.epoch_started)
        engine.add_event_handler(Events.ITERATION_COMPLETED, self.iteration_completed)
        engine.add_event_handler(Events.EPOCH_COMPLETED, self.epoch_completed)
        engine.add_event_handler(Events.COMPLETED, self.completed)

    def started(self, engine: Engine) -> None:
        """Remember the epoch this run starts from (after a resume, the checkpoint's)."""
        self.first_epoch = engine.state.epoch

    def epoch_started(self, engine: Engine) -> None:
        """Start the epoch clock."""
        self._epoch_start = self._last_iteration = time.perf_counter()

    def iteration_completed(self, engine: Engine) -> None:
        """Count the batch's images."""
        self.images += len(engine.state.batch[self.image_key])
        self._last_iteration = time.perf_counter()

    def epoch_completed(self, engine: Engine) -> None:
        """Stop the epoch clock at the last iteration."""
        self.seconds += self._last_iteration - self._epoch_start

    @property
    def images_per_second(self) -> float:
        """Training throughput so far in this run, NaN before any iteration."""
        return self.images / self.seconds if self.seconds > 0 else float("nan")

    def completed(self, engine: Engine) -> None:
        """Write the summary."""
        if self.images == 0:
            logger.info(f"nothing trained in this run; keeping {self.summary_path}")
            return
        processes = world_size()
        summary = {
            "train_images_per_second": self.images_per_second * processes,
            "train_seconds": self.seconds,
            "train_images": self.images * processes,
            "processes": processes,
            "epochs_completed": engine.state.epoch,
            "epochs_this_run": engine.state.epoch - self.first_epoch,
            **{f"final_{k}": float(v) for k, v in engine.state.metrics.items() if isinstance(v, (int, float))},
        }
        atomic_write_bytes(self.summary_path, json_bytes(summary))
        on = f" on {processes} processes" if processes > 1 else ""
        logger.info(
            f"trained {summary['train_images']} images{on} at {summary['train_images_per_second']:.1f} images/s; "
            f"wrote {self.summary_path}"
        )
