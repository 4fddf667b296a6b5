"""Handler writing one CSV row of per-image scores for every input an evaluator sees, all at once at the end."""

from __future__ import annotations

import csv
import io
import logging
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
from ignite.engine import Engine

from medmonai.engines.collect import ScoreBuffer
from medmonai.errors import ConfigError
from medmonai.utils.outputs import atomic_write_bytes

__all__ = ["ScoreTable"]

logger = logging.getLogger(__name__)


def _column(values: np.ndarray, n: int) -> list:
    """One value per item: the first element of each item's row (scores are ``(B,)`` or ``(B, 1)``)."""
    return values.reshape(n, -1)[:, 0].tolist() if values.size else [None] * n


class ScoreTable(ScoreBuffer):
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
        super().__init__(output_keys=list(self.scores.values()), batch_keys=self.id_keys)

    def completed(self, engine: Engine) -> None:
        """Write the table."""
        first = self.values(next(iter(self.scores.values())))
        n = len(first)
        columns = [_column(self.values(k), n) for k in (*self.id_keys, *self.scores.values())]
        text = io.StringIO()
        writer = csv.writer(text, lineterminator="\n")
        writer.writerow([*self.id_keys, *self.scores])
        writer.writerows(zip(*columns, strict=True))
        atomic_write_bytes(self.path, text.getvalue().encode())
        logger.info(f"wrote {n} rows to {self.path}")
