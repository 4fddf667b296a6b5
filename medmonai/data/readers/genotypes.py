"""Genotype tables: one row per subject, one column per variant holding a 0/1/2 dosage, aligned to the subjects.

A table is a CSV (or Parquet) file with ``subject_id`` and one column per variant holding 0, 1 or 2 (copies of the
alternative allele). It is read with pyarrow, an optional dependency (the ``population`` extra), which is why
the data packages do not import this module. Every error names the file and, where it applies, the column and the
row (counted from 1, header excluded).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from medmonai.errors import DataError, reason

__all__ = ["read_genotypes"]

logger = logging.getLogger(__name__)

_SHOWN = 5  # subject ids listed in a mismatch error


def _read_table(path: Path, subject_column: str) -> pa.Table:
    if not path.is_file():
        raise DataError(f"{path}: genotype table not found")
    try:
        if path.name.lower().endswith((".parquet", ".pq")):
            return pq.read_table(path)
        options = pa_csv.ConvertOptions(column_types={subject_column: pa.string()})
        return pa_csv.read_csv(path, convert_options=options)
    except (pa.ArrowInvalid, OSError) as e:
        raise DataError(f"{path}: unreadable genotype table ({reason(e)})") from e


def _dosage_column(path: Path, name: str, column: pa.ChunkedArray) -> np.ndarray:
    """One variant column as int8, or a one-line error naming the column, the row (from 1) and the value."""
    if column.null_count:
        row = int(pc.indices_nonzero(pc.is_null(column))[0].as_py()) + 1
        raise DataError(f"{path}: column '{name}', row {row}: missing dosage (rows count from 1, header excluded)")
    if not (pa.types.is_integer(column.type) or pa.types.is_floating(column.type)):
        values = column.cast(pa.string()).to_pylist()
        row = next(i for i, v in enumerate(values) if not _is_number(v))
        raise DataError(f"{path}: column '{name}', row {row + 1}: {values[row]!r} is not a number (a 0/1/2 dosage)")
    values = column.to_numpy()
    bad = np.flatnonzero(~np.isin(values, (0, 1, 2)))
    if bad.size:
        raise DataError(
            f"{path}: column '{name}', row {bad[0] + 1}: dosage {values[bad[0]].item()!r} is not 0, 1 or 2 "
            f"({bad.size} such value(s) in the column)"
        )
    return values.astype(np.int8)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _align(path: Path, file_ids: np.ndarray, subject_ids: np.ndarray, allow_extra: bool) -> np.ndarray:
    """Row of the genotype table for each subject, or a one-line error naming missing and extra subjects."""
    unique, counts = np.unique(file_ids, return_counts=True)
    if (counts > 1).any():
        repeated = unique[counts > 1][0]
        rows = (np.flatnonzero(file_ids == repeated)[:_SHOWN] + 1).tolist()
        raise DataError(f"{path}: column 'subject_id': subject '{repeated}' repeats, rows {rows}")
    missing = np.setdiff1d(subject_ids, file_ids)
    extra = np.setdiff1d(file_ids, subject_ids) if not allow_extra else np.array([], dtype=str)
    if missing.size or extra.size:
        parts = [f"{len(missing)} subject(s) missing ({', '.join(missing[:_SHOWN])})"] if missing.size else []
        parts += [f"{len(extra)} extra subject(s) ({', '.join(extra[:_SHOWN])})"] if extra.size else []
        raise DataError(f"{path}: genotype subjects do not match the analysed subjects: {'; '.join(parts)}")
    order = np.argsort(file_ids)
    return order[np.searchsorted(file_ids[order], subject_ids)]


def read_genotypes(
    path: str | Path, subject_ids: Sequence[str] | np.ndarray, subject_column: str = "subject_id", allow_extra=False
) -> tuple[list[str], np.ndarray]:
    """Read a genotype table and align its rows to ``subject_ids``.

    Args:
        path: CSV (or Parquet) with ``subject_column`` and one column per variant of 0/1/2 dosages.
        subject_ids: ``(N,)`` the subjects analysed, in the order wanted.
        subject_column: the subject id column. Defaults to ``"subject_id"``.
        allow_extra: accept subjects in the table that are not analysed (they are left out). Defaults to False:
            the table must list exactly the analysed subjects.

    Returns:
        ``(variant names, (N, V) int8 dosages)`` with rows in the order of ``subject_ids``.

    Raises:
        DataError: the file is missing or unreadable, has no subject column or no variant column, a subject repeats,
            the subjects do not match (naming a few missing and extra ids), or a dosage is missing, non-numeric or
            not 0/1/2 (naming the column and the row, counted from 1 without the header).
    """
    path = Path(path)
    table = _read_table(path, subject_column)
    if subject_column not in table.column_names:
        raise DataError(f"{path}: no '{subject_column}' column (columns: {', '.join(table.column_names[:8])})")
    names = [c for c in table.column_names if c != subject_column]
    if not names:
        raise DataError(f"{path}: no variant columns beside '{subject_column}'")
    file_ids = np.asarray(pc.utf8_trim_whitespace(table[subject_column].cast(pa.string())).to_pylist(), dtype=str)
    rows = _align(path, file_ids, np.asarray(subject_ids, dtype=str), allow_extra)
    dosages = np.empty((len(rows), len(names)), dtype=np.int8)
    for j, name in enumerate(names):
        dosages[:, j] = _dosage_column(path, name, table[name])[rows]
    logger.info(f"{path}: {len(names)} variants for {len(rows)} subjects")
    return names, dosages
