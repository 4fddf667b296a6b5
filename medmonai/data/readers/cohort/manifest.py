"""The cohort manifest itself: a pyarrow table of subjects, opened, checked, indexed and validated row by row.

See :mod:`medmonai.data.readers.cohort` for the file layout and the row convention of its messages.
"""

from __future__ import annotations

import csv
import io
import logging
import os
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from medmonai.data.io import image_shape_or_problem, read_manifest_table, require_pyarrow
from medmonai.data.readers.cohort.columns import ROW_CONVENTION, as_text, file_rows_text, to_float64
from medmonai.errors import ConfigError, DataError
from medmonai.utils.outputs import atomic_write_bytes

try:  # the optional "population" extra: require_pyarrow names the install command when it is missing
    import pyarrow as pa
    import pyarrow.compute as pc
except ImportError:  # pragma: no cover - exercised only where pyarrow is absent
    pa = None

__all__ = ["REPORT_COLUMNS", "CohortManifest"]

logger = logging.getLogger(__name__)

REPORT_COLUMNS = ("row", "file_row", "subject_id", "column", "file", "problem")
_CHUNK = 512  # rows per validation task: large enough that thread hand-off costs nothing


def _image_problem(file: str, spatial_dims: int | None) -> str | None:
    """What is wrong with one image file, in a few words, or None."""
    if not file:
        return "no path given"
    if not os.path.exists(file):
        return "file not found"
    shape = image_shape_or_problem(Path(file))
    if isinstance(shape, str):
        return shape
    shown = "x".join(map(str, shape))
    if min(shape, default=0) < 1:
        return f"empty image (size {shown})"
    if spatial_dims is not None and len(shape) != spatial_dims:
        return f"{len(shape)}-D image ({shown}), expected {spatial_dims}-D"
    return None


class CohortManifest:
    """A table of subjects with image paths and covariates, backed by a pyarrow ``Table``.

    See :mod:`medmonai.data.readers.cohort` for the layout and the row convention.

    Args:
        table: one row per subject.
        source: the manifest file (or folder) the table came from; named in every error.
        image_columns: columns holding image paths. Defaults to ``("image",)``.
        subject_column: column of subject ids, read as text. Defaults to ``"subject_id"``.
        root: folder that relative image paths are under. Defaults to the folder holding ``source``.
        spatial_dims: image dimensions a header must show (2 or 3); None accepts any. Defaults to None.
        file_rows: 0-based data row in ``source`` of each table row, for messages. Defaults to ``0..n-1``.

    Raises:
        DataError: the subject or an image column is missing, the table is empty, or a subject id is empty or
            repeated; the message names ``source``, the column and the file rows.
    """

    def __init__(
        self,
        table: pa.Table,
        source: str | Path,
        image_columns: Sequence[str] = ("image",),
        subject_column: str = "subject_id",
        root: str | Path | None = None,
        spatial_dims: int | None = None,
        file_rows: np.ndarray | None = None,
    ) -> None:
        require_pyarrow()
        self.source = Path(source)
        self.image_columns = tuple([image_columns] if isinstance(image_columns, str) else image_columns)
        self.subject_column = subject_column
        self.root = Path(root).expanduser() if root else (self.source if self.source.is_dir() else self.source.parent)
        self.spatial_dims = spatial_dims
        if not self.image_columns:
            raise ConfigError(f"{self.source}: image_columns must name at least one column, got {image_columns!r}")
        for name in (subject_column, *self.image_columns):
            if name not in table.column_names:
                raise DataError(f"{self.source}: no '{name}' column (columns: {', '.join(table.column_names)})")
        if table.num_rows == 0:
            raise DataError(f"{self.source}: the manifest lists no subjects")
        for name in (subject_column, *self.image_columns):
            table = table.set_column(table.schema.get_field_index(name), name, as_text(table[name]))
        self.table = table
        self._file_rows = None if file_rows is None else np.asarray(file_rows, np.int64)  # None: row i is file row i
        if self._file_rows is not None and len(self._file_rows) != table.num_rows:
            raise ValueError(f"file_rows must have one entry per table row ({table.num_rows}), got {len(file_rows)}")
        self._check_subjects()

    @classmethod
    def read(
        cls,
        path: str | Path,
        image_columns: Sequence[str] = ("image",),
        subject_column: str = "subject_id",
        root: str | Path | None = None,
        spatial_dims: int | None = None,
    ) -> CohortManifest:
        """Open a CSV, CSV.gz or Parquet manifest; subject and image columns are read as text.

        Args:
            path: the manifest file.
            image_columns: columns holding image paths. Defaults to ``("image",)``.
            subject_column: column of subject ids. Defaults to ``"subject_id"``.
            root: folder that relative image paths are under. Defaults to the manifest's folder.
            spatial_dims: image dimensions a header must show; None accepts any. Defaults to None.

        Raises:
            DataError: the file is missing, unreadable or of another format, or fails the checks of the class.
        """
        require_pyarrow()
        path = Path(path).expanduser()
        if not path.is_file():
            raise DataError(f"{path}: manifest file not found")
        images = [image_columns] if isinstance(image_columns, str) else list(image_columns)
        table = read_manifest_table(path, [subject_column, *images])
        return cls(table, path, images, subject_column, root, spatial_dims)

    @property
    def file_rows(self) -> np.ndarray:
        """``(n,)`` 0-based data row in :attr:`source` of each subject (messages show them 1-based)."""
        return np.arange(len(self)) if self._file_rows is None else self._file_rows

    def _where(self, indices: Iterable[int]) -> str:
        return file_rows_text(indices, self._file_rows)

    def _check_subjects(self) -> None:
        ids = self.table[self.subject_column]
        empty = pc.indices_nonzero(pc.equal(pc.utf8_length(pc.fill_null(ids, "")), 0)).to_numpy()
        if len(empty):
            raise DataError(
                f"{self.source}: column '{self.subject_column}', {self._where(empty)}: empty subject id "
                f"({len(empty)} in all; {ROW_CONVENTION})"
            )
        counts = pc.value_counts(ids)
        repeated = counts.filter(pc.greater(counts.field("counts"), 1))
        if len(repeated):
            first = repeated.field("values")[0].as_py()
            rows = pc.indices_nonzero(pc.equal(ids, first)).to_numpy()
            raise DataError(
                f"{self.source}: column '{self.subject_column}': subject '{first}' appears {len(rows)} times "
                f"({self._where(rows)}; {ROW_CONVENTION}); subject ids must be unique "
                f"({len(repeated)} repeated id{'s' if len(repeated) > 1 else ''} in all)"
            )

    def __len__(self) -> int:
        return self.table.num_rows

    def __repr__(self) -> str:
        return f"CohortManifest({self.source}, {len(self)} subjects, images {list(self.image_columns)})"

    @property
    def columns(self) -> list[str]:
        """Every column name, in file order."""
        return list(self.table.column_names)

    @property
    def covariate_columns(self) -> list[str]:
        """The columns that are neither the subject nor an image column."""
        skip = {self.subject_column, *self.image_columns}
        return [c for c in self.table.column_names if c not in skip]

    @cached_property
    def subject_ids(self) -> np.ndarray:
        """``(n,)`` subject ids as a numpy string array (built on first use, then kept)."""
        return self.strings(self.subject_column)

    def strings(self, name: str) -> np.ndarray:
        """Any column as a ``(n,)`` numpy string array (a missing value becomes ``""``).

        Raises:
            DataError: no such column.
        """
        column = self._column(name)
        return np.asarray(pc.fill_null(as_text(column), "").to_numpy(zero_copy_only=False), dtype=str)

    def image_paths(self, column: str | None = None) -> np.ndarray:
        """The absolute paths of one image column as a ``(n,)`` numpy string array (vectorised).

        Args:
            column: an image column. Defaults to the first.
        """
        column = column or self.image_columns[0]
        if column not in self.image_columns:
            raise ConfigError(f"{self.source}: '{column}' is not an image column ({list(self.image_columns)})")
        files = pc.fill_null(self.table[column], "")
        joined = pc.binary_join_element_wise(pa.scalar(str(self.root)), files, "/")
        keep = pc.or_(pc.starts_with(files, "/"), pc.equal(pc.utf8_length(files), 0))  # absolute, or no path
        absolute = pc.if_else(keep, files, joined)
        return np.asarray(absolute.to_numpy(zero_copy_only=False), dtype=str)

    def _column(self, name: str) -> pa.ChunkedArray:
        if name not in self.table.column_names:
            raise DataError(f"{self.source}: no '{name}' column (columns: {', '.join(self.table.column_names)})")
        return self.table[name]

    def _resolve(self, file: str) -> str:
        return os.path.join(self.root, os.path.expanduser(file)) if file else ""  # join keeps an absolute path

    def row(self, i: int) -> dict[str, Any]:
        """One subject as a dict.

        The dict holds ``subject_id``, each image column as an absolute path, ``row`` (= ``i``), and every
        covariate as stored (a missing number is NaN, missing text ``""``).

        Raises:
            IndexError: ``i`` is out of range.
        """
        i = self._index(i)
        values = self.table.slice(i, 1).to_pylist()[0]
        item: dict[str, Any] = {"subject_id": values.pop(self.subject_column)}
        for name in self.image_columns:
            item[name] = self._resolve(values.pop(name))
        item["row"] = i
        for name, value in values.items():
            numeric = pa.types.is_integer(self.table[name].type) or pa.types.is_floating(self.table[name].type)
            item[name] = value if value is not None else (float("nan") if numeric else "")
        return item

    def _index(self, i: int) -> int:
        n = len(self)
        if not -n <= int(i) < n:
            raise IndexError(f"row {i} is out of range for {n} subjects")
        return int(i) % n

    def covariate(self, name: str) -> np.ndarray:
        """One covariate as ``(n,)`` float64; missing values (empty, NA, null) are NaN; booleans are 0/1.

        Raises:
            DataError: no such column, or a value is not a number (naming the column, the file row and the value).
        """
        return to_float64(self._column(name), self.source, name, self._file_rows)

    def covariates(self, names: Sequence[str]) -> np.ndarray:
        """Several covariates as an ``(n, k)`` float64 matrix, in the order of ``names``.

        Raises:
            DataError: see :meth:`covariate`.
        """
        names = [names] if isinstance(names, str) else list(names)
        matrix = np.empty((len(self), len(names)), np.float64)
        for k, name in enumerate(names):
            matrix[:, k] = self.covariate(name)
        return matrix

    def take(self, indices: Sequence[int] | np.ndarray) -> CohortManifest:
        """The manifest of the subjects at ``indices`` (0-based positions), in that order.

        Raises:
            IndexError: an index is out of range.
            ValueError: an index repeats (a subject would appear twice).
        """
        indices = np.asarray(indices, np.int64).reshape(-1)
        n = len(self)
        if indices.size and (indices.min() < -n or indices.max() >= n):
            raise IndexError(f"take: indices must be in [-{n}, {n}), got {indices.min()}..{indices.max()}")
        indices = indices % n if n else indices
        if np.unique(indices).size != indices.size:
            raise ValueError("take: indices must not repeat (a subject would appear twice)")
        return CohortManifest(
            self.table.take(pa.array(indices)),
            self.source,
            self.image_columns,
            self.subject_column,
            self.root,
            self.spatial_dims,
            self.file_rows[indices],
        )

    def _row_problems(self, start: int, stop: int) -> list[dict[str, Any]]:
        """Header problems of rows ``start..stop-1``, one dict per bad image (see :data:`REPORT_COLUMNS`)."""
        block = self.table.slice(start, stop - start)
        ids = block[self.subject_column].to_pylist()
        found = []
        for name in self.image_columns:
            for offset, file in enumerate(block[name].to_pylist()):
                path = self._resolve(file or "")
                problem = _image_problem(path, self.spatial_dims)
                if problem is not None:
                    i = start + offset
                    found.append(
                        {
                            "row": i,
                            "file_row": (i if self._file_rows is None else int(self._file_rows[i])) + 1,
                            "subject_id": ids[offset],
                            "column": name,
                            "file": path,
                            "problem": problem,
                        }
                    )
        return found

    def check_row(self, i: int) -> str | None:
        """Check the images of one row: the file exists and its header reads (and has ``spatial_dims`` axes).

        Returns:
            None when the row is fine, else one line naming the manifest, the file row, the subject, the column,
            the image file and the problem (usable as a :class:`DataError` message or a log line).
        """
        i = self._index(i)
        problems = self._row_problems(i, i + 1)
        if not problems:
            return None
        first = problems[0]
        file = f"{first['file']}: " if first["file"] else ""
        return (
            f"{self.source}: row {first['file_row']} (subject '{first['subject_id']}'), column '{first['column']}': "
            f"{file}{first['problem']}"
        )

    def validate(self, workers: int = 4, report: str | Path | None = None) -> list[dict[str, Any]]:
        """Check every row's images in parallel threads and optionally write a CSV report of the bad ones.

        Args:
            workers: threads reading headers (I/O bound, so threads overlap the waits); 0 or 1 checks in the
                calling thread. Defaults to 4.
            report: CSV written atomically with one line per bad image (columns :data:`REPORT_COLUMNS`; a
                header-only file when all is well); None writes nothing. Defaults to None.

        Returns:
            One dict per bad image, by row: ``row`` (0-based position, as :meth:`take` uses), ``file_row`` (1-based,
            header excluded), ``subject_id``, ``column``, ``file`` and ``problem``.
        """
        n = len(self)
        blocks = [(start, min(start + _CHUNK, n)) for start in range(0, n, _CHUNK)]
        if workers <= 1:
            found = [self._row_problems(*block) for block in blocks]
        else:
            with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="manifest-check") as pool:
                found = list(pool.map(lambda block: self._row_problems(*block), blocks))
        bad = [problem for block in found for problem in block]
        if report is not None:
            atomic_write_bytes(report, _report_bytes(bad))
        logger.info(f"{self.source}: checked {n} rows, {len(bad)} bad image(s)")
        return bad


def _report_bytes(bad: list[dict[str, Any]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=REPORT_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(bad)
    return buffer.getvalue().encode("utf-8")
