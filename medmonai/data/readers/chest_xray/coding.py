"""What the chest X-ray readers share: sex, view and age coded as numbers, and the manifest built from columns.

Covariates are numeric: ``sex`` is 0 male / 1 female, ``view`` 0 PA / 1 AP, ``age`` in years; anything else
(unknown sex, a lateral view) is NaN. Errors name the file and its row (see
:data:`~medmonai.data.readers.cohort.ROW_CONVENTION`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from medmonai.data.readers.cohort import ROW_CONVENTION, CohortManifest, file_rows_text, to_float64
from medmonai.errors import DataError

try:  # the optional "population" extra; CohortManifest names the install command when it is missing
    import pyarrow as pa
    import pyarrow.compute as pc
except ImportError:  # pragma: no cover - exercised only where pyarrow is absent
    pa = None

__all__ = [
    "SEX_CODES",
    "VIEW_CODES",
    "age_years",
    "coded",
    "cohort_manifest",
    "covariate_name",
    "first_per_subject",
    "require_columns",
]

_AGE = r"^(?P<value>\d+(?:\.\d+)?)\s*(?P<unit>[YyMmWwDd]?)$"  # 58, or DICOM's age string: 058Y, 003M, 010W, 012D
_AGE_UNIT_YEARS = {"": 1.0, "Y": 1.0, "M": 12.0, "W": 365.25 / 7.0, "D": 365.25}
NAN = float("nan")
SEX_CODES = {"M": 0.0, "MALE": 0.0, "F": 1.0, "FEMALE": 1.0, "O": NAN, "OTHER": NAN, "U": NAN, "UNKNOWN": NAN}
VIEW_CODES = {"PA": 0.0, "AP": 1.0, "LL": NAN, "RL": NAN, "LATERAL": NAN}  # a lateral view has no PA/AP: NaN


def covariate_name(label: str) -> str:
    """The covariate column of a finding: ``"Pleural_Thickening"`` -> ``"pleural_thickening"``."""
    return re.sub(r"[^0-9a-z]+", "_", label.lower()).strip("_")


def coded(
    column: pa.ChunkedArray | pa.Array, codes: Mapping[str, float], source: Path, name: str, strict: bool = True
) -> np.ndarray:
    """Text mapped through ``codes`` (case-insensitive, trimmed) to ``(n,)`` float64; empty is NaN.

    Raises:
        DataError: with ``strict``, a non-empty value outside ``codes`` (naming its row); otherwise it is NaN.
    """
    text = pc.utf8_upper(pc.utf8_trim_whitespace(pc.fill_null(pc.cast(column, pa.string()), "")))
    index = pc.index_in(text, value_set=pa.array(list(codes), pa.string()))
    unknown = pc.and_(pc.is_null(index), pc.greater(pc.utf8_length(text), 0))
    bad = pc.indices_nonzero(unknown)
    if strict and len(bad):
        i = int(bad[0].as_py())
        raise DataError(
            f"{source}: column '{name}', {file_rows_text([i])}: {text[i].as_py()!r} is not one of "
            f"{', '.join(codes)} ({ROW_CONVENTION})"
        )
    values = np.append(np.asarray(list(codes.values()), np.float64), np.nan)
    return values[np.asarray(pc.fill_null(index, len(codes)).to_numpy(zero_copy_only=False), np.int64)]


def age_years(column: pa.ChunkedArray, source: Path, name: str) -> np.ndarray:
    """Ages as years: plain numbers, or DICOM age strings (``058Y``, ``003M``, ``010W``, ``012D``)."""
    if pa.types.is_integer(column.type) or pa.types.is_floating(column.type):
        return to_float64(column, source, name)
    text = pc.utf8_trim_whitespace(pc.cast(column, pa.string()))
    parts = pc.extract_regex(text, _AGE)
    bad = pc.and_(pc.is_null(parts), pc.greater(pc.utf8_length(text), 0))
    first = pc.indices_nonzero(pc.fill_null(bad, False))
    if len(first):
        i = int(first[0].as_py())
        raise DataError(
            f"{source}: column '{name}', {file_rows_text([i])}: {text[i].as_py()!r} is not an age "
            f"(a number of years, or e.g. 058Y/003M; {ROW_CONVENTION})"
        )
    value = to_float64(pc.struct_field(parts, "value"), source, name)
    units = pc.utf8_upper(pc.fill_null(pc.struct_field(parts, "unit"), "")).to_numpy(zero_copy_only=False)
    kinds, inverse = np.unique(np.asarray(units, dtype=str), return_inverse=True)
    return value / np.array([_AGE_UNIT_YEARS[k] for k in kinds])[inverse.reshape(-1)]


def require_columns(table: pa.Table, source: Path, needed: Sequence[str], layout: str) -> None:
    """Refuse a table without one of the ``needed`` columns, naming them, the expected ``layout`` and what is there."""
    missing = [c for c in needed if c not in table.column_names]
    if missing:
        found = ", ".join(c for c in table.column_names if c)
        raise DataError(f"{source}: no column {', '.join(map(repr, missing))} ({layout}; columns: {found})")


def first_per_subject(subject_ids: pa.ChunkedArray | pa.Array) -> np.ndarray:
    """Sorted positions of the first row of each subject (vectorised group-by)."""
    keyed = pa.table({"subject": subject_ids, "position": pa.array(np.arange(len(subject_ids)))})
    first = keyed.group_by("subject").aggregate([("position", "min")])["position_min"]
    return np.sort(first.to_numpy())


def cohort_manifest(
    columns: dict[str, pa.ChunkedArray | pa.Array | np.ndarray],
    source: Path,
    root: Path,
    keep: np.ndarray,
    one_per_subject: bool,
    spatial_dims: int | None,
) -> CohortManifest:
    """Keep rows ``keep`` (file positions), then the first image per subject, as a manifest of 2-D images."""
    table = pa.table({name: pa.array(v) if isinstance(v, np.ndarray) else v for name, v in columns.items()})
    table = table.take(pa.array(keep))
    if one_per_subject:
        first = first_per_subject(table["subject_id"])
        table, keep = table.take(pa.array(first)), keep[first]
    return CohortManifest(table, source, ("image",), "subject_id", root, spatial_dims, keep)
