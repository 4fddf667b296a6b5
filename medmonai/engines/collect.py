"""The one collector of the detection pipeline: keep per-item values over one evaluator run, report at its end.

Every collecting handler and protocol builds on :class:`ScoreBuffer`: the 3-D and GAN detection protocols
(:mod:`medmonai.engines.detection`), the 2-D calibration and case reports, score tables, histograms and embedding
writers (:mod:`medmonai.handlers`, :mod:`medmonai.apps`). It lives with the engines so that protocols can collect
without importing handlers; handlers import it from here.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar

import numpy as np
import torch
from ignite.engine import Engine, Events

from medmonai.errors import ConfigError

__all__ = ["ScoreBuffer", "as_array", "collect"]


def as_array(value: Any) -> np.ndarray:
    """A batch entry as a numpy array: tensors detached to the CPU, lists (e.g. of file names) as they are."""
    if isinstance(value, torch.Tensor):
        return value.detach().cpu().numpy()
    return np.asarray(value)


class ScoreBuffer:
    """Collect named per-item values from each iteration of one evaluator run, then report on completion.

    Every run starts empty (``STARTED``); each ``ITERATION_COMPLETED`` appends ``engine.state.output[key]`` for
    ``output_keys`` and ``engine.state.batch[key]`` for ``batch_keys``; ``COMPLETED`` calls :meth:`completed`,
    which subclasses override to compute metrics and write their report. :meth:`values` gives one key's values of
    the whole run, items along the first axis.

    Args:
        output_keys: keys of the evaluator's output kept per item (e.g. ``score``, ``mu``, ``label``).
        batch_keys: keys of the input batch kept per item (e.g. a file name or a class).

    Raises:
        ConfigError: a key is missing from the output or batch at the first iteration.
    """

    def __init__(self, output_keys: Sequence[str] = (), batch_keys: Sequence[str] = ()) -> None:
        self.output_keys, self.batch_keys = tuple(output_keys), tuple(batch_keys)
        self.reset()

    def reset(self) -> None:
        """Forget what earlier runs collected."""
        self.buffers: dict[str, list[np.ndarray]] = {k: [] for k in (*self.output_keys, *self.batch_keys)}

    def attach(self, engine: Engine) -> None:
        """Reset at start, collect every iteration, report at completion."""
        engine.add_event_handler(Events.STARTED, lambda _: self.reset())
        engine.add_event_handler(Events.ITERATION_COMPLETED, self.iteration_completed)
        engine.add_event_handler(Events.COMPLETED, self.completed)

    def iteration_completed(self, engine: Engine) -> None:
        """Keep this iteration's values."""
        for source, keys, name in (
            (engine.state.output, self.output_keys, "output"),
            (engine.state.batch, self.batch_keys, "batch"),
        ):
            missing = [k for k in keys if k not in source]
            if missing:
                raise ConfigError(f"{type(self).__name__}: {missing} not in the evaluator's {name}")
            for key in keys:
                self.keep(key, source[key])

    def keep(self, key: str, values: Any) -> None:
        """Keep one iteration's ``values`` (items along the first axis) under ``key``, e.g. a value computed here."""
        self.buffers.setdefault(key, []).append(as_array(values))

    def values(self, key: str) -> np.ndarray:
        """Everything collected under ``key`` in this run, items along the first axis."""
        return np.concatenate(self.buffers[key]) if self.buffers.get(key) else np.empty(0)

    def completed(self, engine: Engine) -> None:
        """Report what was collected; subclasses write their files here."""


Buffer = TypeVar("Buffer", bound=ScoreBuffer)


def collect(evaluator: Engine, buffer: Buffer) -> Buffer:
    """Run ``evaluator`` once with ``buffer`` attached; return the filled buffer.

    Args:
        evaluator: a MONAI evaluator (``run()`` without arguments).
        buffer: the collector to fill.
    """
    buffer.attach(evaluator)
    evaluator.run()
    return buffer
