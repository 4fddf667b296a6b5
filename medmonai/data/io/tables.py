"""Tables: small CSV files read row by row, and CSV (optionally gzipped) or Parquet files read into pyarrow.

pyarrow is an optional dependency (the "population" extra): :func:`require_pyarrow` names the install command.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path

from medmonai.errors import ConfigError, DataError, reason

try:  # an optional dependency: a clear error when a table is read without it
    import pyarrow as pa
    import pyarrow.csv as pa_csv
    import pyarrow.parquet as pq
except ImportError:  # pragma: no cover - exercised only where pyarrow is absent
    pa = None

__all__ = ["read_csv_rows", "read_manifest_table", "require_pyarrow"]


def read_csv_rows(path: str | Path) -> tuple[list[str], list[dict[str, str]]]:
    """Read a small CSV with a header line into its column names and rows, names and values stripped.

    Empty cells are kept as ``""``. For large cohort tables use :func:`read_manifest_table`.

    Raises:
        DataError: the file is malformed CSV or not UTF-8 text.
    """
    path = Path(path)
    try:
        with path.open(newline="", encoding="utf-8") as f:
            reader = csv.DictReader(f)
            rows = [{k.strip(): (v or "").strip() for k, v in row.items() if k is not None} for row in reader]
            columns = [c.strip() for c in reader.fieldnames or []]
    except (csv.Error, UnicodeDecodeError) as e:
        raise DataError(f"{path}: malformed CSV ({e})") from e
    return columns, rows


def require_pyarrow() -> None:
    """Raise a :class:`ConfigError` with the install command when pyarrow is missing."""
    if pa is None:
        raise ConfigError("cohort manifests need pyarrow: pip install 'medmonai[population]' (or pyarrow)")


def read_manifest_table(path: str | Path, string_columns: Sequence[str] = ()) -> pa.Table:
    """Read a CSV (optionally gzipped) or Parquet file into a pyarrow ``Table`` (columnar, nothing per row).

    Args:
        path: the ``.csv``, ``.csv.gz`` or ``.parquet`` file.
        string_columns: CSV columns kept as text whatever they look like (ids such as ``007``). Defaults to none.

    Raises:
        DataError: the file is unreadable (malformed CSV, damaged Parquet) or has another suffix.
    """
    require_pyarrow()
    path = Path(path)
    name = path.name.lower()
    try:
        if name.endswith((".parquet", ".pq")):
            return pq.read_table(path, memory_map=True)
        if name.endswith((".csv", ".csv.gz")):
            options = pa_csv.ConvertOptions(column_types={c: pa.string() for c in string_columns})
            return pa_csv.read_csv(path, convert_options=options)  # .gz is decompressed by its suffix
    except (pa.ArrowInvalid, OSError) as e:
        raise DataError(f"{path}: unreadable manifest ({reason(e)})") from e
    raise DataError(f"{path}: a manifest must be .csv, .csv.gz or .parquet, got '{path.name}'")
