"""Handler writing one CSV row of per-image scores for every input an evaluator sees, all at once at the end."""

from __future__ import annotations

import csv
import io
import logging
from collections.abc import Mapping, Sequence
from pathlib import Path

import torch
from ignite.engine import Engine, Events

from medmonai.errors import ConfigError
from medmonai.utils.outputs import atomic_write_bytes

__all__ = ["ScoreTable"]

logger = logging.getLogger(__name__)


def _values(batch_value, n: int) -> list:
    """A collated batch entry as ``n`` plain values (tensor rows, or list items)."""
    if isinstance(batch_value, torch.Tensor):
        return batch_value.detach().reshape(n, -1)[:, 0].cpu().tolist() if batch_value.numel() else [None] * n
    return list(batch_value)


class ScoreTable:
    """Collect ``(B,)`` scores from an evaluator's output, with identifying columns from its batch, into a CSV.

    The file (``path``) is written atomically when the evaluator completes; if it fails, nothing is written and an
    earlier table stays as it was.

    Args:
        path: the CSV file.
        scores: ``{column: output key}`` of per-image ``(B,)`` score tensors.
        id_keys: batch keys written first, identifying each row (a file name, a class, an index).

    Raises:
        ConfigError: no scores.
    """

    def __init__(self, path: str | Path, scores: Mapping[str, str], id_keys: Sequence[str] = ()) -> None:
        if not scores:
            raise ConfigError("ScoreTable needs at least one {column: output key} score")
        self.path, self.scores, self.id_keys = Path(path), dict(scores), list(id_keys)
        self.rows: list[list] = []

    def attach(self, engine: Engine) -> None:
        """Reset at start, collect every iteration, write at completion."""
        engine.add_event_handler(Events.STARTED, lambda _: self.rows.clear())
        engine.add_event_handler(Events.ITERATION_COMPLETED, self.collect)
        engine.add_event_handler(Events.COMPLETED, self.write)

    def collect(self, engine: Engine) -> None:
        """Append this batch's rows."""
        output, batch = engine.state.output, engine.state.batch
        missing = [k for k in self.scores.values() if k not in output] + [k for k in self.id_keys if k not in batch]
        if missing:
            raise ConfigError(f"ScoreTable: {missing} not in the evaluator's output or batch")
        n = len(output[next(iter(self.scores.values()))])
        columns = [_values(batch[k], n) for k in self.id_keys] + [_values(output[k], n) for k in self.scores.values()]
        self.rows.extend(zip(*columns, strict=True))

    def write(self, engine: Engine) -> None:
        """Write the table."""
        text = io.StringIO()
        writer = csv.writer(text, lineterminator="\n")
        writer.writerow([*self.id_keys, *self.scores])
        writer.writerows(self.rows)
        atomic_write_bytes(self.path, text.getvalue().encode())
        logger.info(f"wrote {len(self.rows)} rows to {self.path}")
