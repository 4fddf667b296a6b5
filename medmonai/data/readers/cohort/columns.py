"""Arrow columns of a manifest as numbers and text, with messages that name the file row of a bad value.

**Rows.** Messages for people name the *file row*: data rows of the manifest file counted from 1, header
excluded (:data:`ROW_CONVENTION`), so "row 17" is the 18th line of a CSV.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import numpy as np

from medmonai.errors import DataError, reason

try:  # the optional "population" extra; medmonai.data.io.require_pyarrow names the install command
    import pyarrow as pa
    import pyarrow.compute as pc
except ImportError:  # pragma: no cover - exercised only where pyarrow is absent
    pa = None

__all__ = ["ROW_CONVENTION", "as_text", "file_rows_text", "to_float64"]

ROW_CONVENTION = "rows count from 1, header excluded"
_NUMBER = r"(?i)^[+-]?((\d+\.?\d*|\.\d+)(e[+-]?\d+)?|inf|infinity|nan)$"  # what arrow's string-to-float cast takes
_SHOWN_ROWS = 5  # file rows listed in a message


def as_text(column: pa.ChunkedArray) -> pa.ChunkedArray:
    """A column as trimmed strings (numeric subject ids in a Parquet file become their decimal text)."""
    if not pa.types.is_string(column.type):
        column = pc.cast(column, pa.string())
    return pc.utf8_trim_whitespace(column)


def file_rows_text(indices: Iterable[int], file_rows: np.ndarray | None = None) -> str:
    """``"row 7"`` or ``"rows 7, 12, ..."``: table positions as 1-based file rows (the first few only).

    Args:
        indices: 0-based table positions.
        file_rows: 0-based data row in the file of each table position. Defaults to the positions themselves.
    """
    rows = [(int(file_rows[i]) if file_rows is not None else int(i)) + 1 for i in indices]
    shown = ", ".join(map(str, rows[:_SHOWN_ROWS])) + (", ..." if len(rows) > _SHOWN_ROWS else "")
    return f"row{'s' if len(rows) > 1 else ''} {shown}"


def to_float64(
    column: pa.ChunkedArray | pa.Array, source: str | Path, name: str, file_rows: np.ndarray | None = None
) -> np.ndarray:
    """A column as ``(n,)`` float64, vectorised: numbers as they are, booleans as 0/1, text parsed.

    Missing values (null, empty or blank text, ``NA``/``nan``) become NaN.

    Args:
        column: the values.
        source: the file they came from, for the message.
        name: the column name, for the message.
        file_rows: 0-based file row of each value, for the message. Defaults to ``0..n-1``.

    Raises:
        DataError: ``"<source>: column '<name>', row N: 'abc' is not a number"`` for the first bad value, or the
            column holds neither numbers nor text.
    """
    kind = column.type
    if pa.types.is_dictionary(kind):
        column, kind = pc.cast(column, kind.value_type), kind.value_type
    if pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_boolean(kind) or pa.types.is_null(kind):
        return np.asarray(pc.cast(column, pa.float64()).to_numpy(zero_copy_only=False), np.float64)
    if not (pa.types.is_string(kind) or pa.types.is_large_string(kind)):
        raise DataError(f"{source}: column '{name}' holds {kind} values, not numbers")
    text = pc.utf8_trim_whitespace(column)
    text = pc.if_else(pc.equal(pc.utf8_length(text), 0), pa.scalar(None, text.type), text)
    bad = pc.and_(pc.is_valid(text), pc.invert(pc.fill_null(pc.match_substring_regex(text, _NUMBER), True)))
    first = pc.indices_nonzero(pc.fill_null(bad, False))
    if len(first):
        i = int(first[0].as_py())
        where = file_rows_text([i], file_rows)
        raise DataError(f"{source}: column '{name}', {where}: {text[i].as_py()!r} is not a number ({ROW_CONVENTION})")
    try:
        return np.asarray(pc.cast(text, pa.float64()).to_numpy(zero_copy_only=False), np.float64)
    except pa.ArrowInvalid as e:  # a form the pattern lets through but arrow's parser refuses
        raise DataError(f"{source}: column '{name}' is not numeric ({reason(e)})") from e
