"""Per-subject embeddings on disk: a Parquet table of ``subject_id`` and one float32 column per dimension.

Every trained model of the population study exports the same layout, so the analysis reads any of them:
``subject_id`` (string), then ``e000``, ``e001``, ... (float32, zero-padded to at least three digits so the
columns sort in order). The name of the model that produced the table is kept in the Parquet schema metadata.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from medmonai.errors import DataError
from medmonai.utils.outputs import atomic_write_bytes

__all__ = [
    "EMBEDDING_COLUMN",
    "SUBJECT_COLUMN",
    "embedding_columns",
    "embedding_model",
    "read_embeddings",
    "write_embeddings",
]

logger = logging.getLogger(__name__)

SUBJECT_COLUMN = "subject_id"
EMBEDDING_COLUMN = re.compile(r"^e(\d+)$")  # e000, e001, ...
_MODEL_KEY = b"medmonai.model"


def embedding_columns(dims: int) -> list[str]:
    """Column names of a ``dims``-dimensional embedding: ``e000`` ... (at least three digits, all the same width)."""
    width = max(3, len(str(max(dims - 1, 0))))
    return [f"e{i:0{width}d}" for i in range(dims)]


def write_embeddings(
    path: str | Path, subject_ids: Sequence[str] | np.ndarray, matrix: np.ndarray, model: str = ""
) -> Path:
    """Write one embedding per subject to a Parquet file, atomically.

    Args:
        path: the ``.parquet`` file to write (its folder is created).
        subject_ids: ``(N,)`` unique subject ids.
        matrix: ``(N, D)`` embeddings; stored as float32.
        model: the name of the model that produced them, kept in the file's metadata. Defaults to ``""``.

    Returns:
        The path written.

    Raises:
        ValueError: ``matrix`` is not 2-D, its rows do not match ``subject_ids``, it holds a non-finite value, or a
            subject id repeats.
    """
    ids = np.asarray(subject_ids).astype(str)
    values = np.asarray(matrix, dtype=np.float32)
    if values.ndim != 2 or values.shape[0] != ids.shape[0]:
        raise ValueError(f"matrix must be (N, D) with N = {ids.shape[0]} subjects, got shape {values.shape}")
    if not np.isfinite(values).all():
        rows = np.flatnonzero(~np.isfinite(values).all(axis=1))
        raise ValueError(f"matrix must be finite, got NaN/inf for subjects {ids[rows[:5]].tolist()}")
    unique, counts = np.unique(ids, return_counts=True)
    if (counts > 1).any():
        raise ValueError(f"subject_ids must be unique, got repeats {unique[counts > 1][:5].tolist()}")
    columns = {SUBJECT_COLUMN: pa.array(ids, type=pa.string())}
    columns.update({name: pa.array(values[:, j]) for j, name in enumerate(embedding_columns(values.shape[1]))})
    table = pa.table(columns).replace_schema_metadata({_MODEL_KEY: model.encode()})
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink)
    written = atomic_write_bytes(path, memoryview(sink.getvalue()))
    logger.info(
        f"wrote {values.shape[0]} embeddings of {values.shape[1]} dimensions ({model or 'model unnamed'}) to {path}"
    )
    return written


def _open(path: Path) -> pq.ParquetFile:
    if not path.is_file():
        raise DataError(f"{path}: embeddings file not found")
    try:
        return pq.ParquetFile(path)
    except (pa.ArrowException, OSError) as e:
        raise DataError(f"{path}: not a readable Parquet file ({' '.join(str(e).split())})") from e


def embedding_model(path: str | Path) -> str:
    """The model name stored in an embeddings file (``""`` when none was given)."""
    metadata = _open(Path(path)).schema_arrow.metadata or {}
    return metadata.get(_MODEL_KEY, b"").decode()


def read_embeddings(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """Read an embeddings Parquet file written by :func:`write_embeddings` (or any table in that layout).

    Columns other than ``subject_id`` and ``e<digits>`` are ignored; the embedding columns are ordered by their number.

    Args:
        path: the ``.parquet`` file.

    Returns:
        ``(subject_ids, matrix)``: ``(N,)`` str array and ``(N, D)`` float32 array, in file order.

    Raises:
        DataError: the file is missing or unreadable, lacks ``subject_id`` or any ``e<digits>`` column, has an empty,
            null or repeated subject id, or holds a non-numeric, missing or non-finite value (the column and row
            are named; rows count from 1).
    """
    path = Path(path)
    schema = _open(path).schema_arrow
    if SUBJECT_COLUMN not in schema.names:
        raise DataError(f"{path}: no '{SUBJECT_COLUMN}' column; columns are {schema.names[:8]}")
    numbered = sorted((int(m.group(1)), name) for name in schema.names if (m := EMBEDDING_COLUMN.match(name)))
    if not numbered:
        raise DataError(f"{path}: no embedding columns named e000, e001, ...; columns are {schema.names[:8]}")
    names = [name for _, name in numbered]
    for name in names:
        if not (pa.types.is_floating(schema.field(name).type) or pa.types.is_integer(schema.field(name).type)):
            raise DataError(f"{path}: column '{name}' must be numeric, got {schema.field(name).type}")
    table = pq.read_table(path, columns=[SUBJECT_COLUMN, *names])
    ids = _subject_ids(path, table.column(SUBJECT_COLUMN))
    matrix = np.empty((table.num_rows, len(names)), dtype=np.float32)
    for j, name in enumerate(names):
        column = table.column(name)
        if column.null_count:
            raise DataError(f"{path}: column '{name}', row {_first_null(column) + 1}: missing value")
        matrix[:, j] = column.to_numpy()
    bad = ~np.isfinite(matrix)
    if bad.any():
        row, col = np.argwhere(bad)[0]
        raise DataError(f"{path}: column '{names[col]}', row {row + 1}: non-finite value {matrix[row, col]}")
    return ids, matrix


def _first_null(column: pa.ChunkedArray) -> int:
    return int(np.flatnonzero(column.is_null().to_numpy(zero_copy_only=False))[0])


def _subject_ids(path: Path, column: pa.ChunkedArray) -> np.ndarray:
    if column.null_count:
        raise DataError(f"{path}: column '{SUBJECT_COLUMN}', row {_first_null(column) + 1}: missing subject id")
    ids = np.asarray(column.cast(pa.string()).to_numpy(zero_copy_only=False)).astype(str)
    empty = np.flatnonzero(np.char.str_len(ids) == 0) if ids.size else np.array([], dtype=int)
    if empty.size:
        raise DataError(f"{path}: column '{SUBJECT_COLUMN}', row {empty[0] + 1}: empty subject id")
    unique, counts = np.unique(ids, return_counts=True)
    if (counts > 1).any():
        repeated = unique[counts > 1][0]
        rows = (np.flatnonzero(ids == repeated)[:5] + 1).tolist()
        raise DataError(f"{path}: column '{SUBJECT_COLUMN}': subject '{repeated}' repeats, rows {rows}")
    return ids
