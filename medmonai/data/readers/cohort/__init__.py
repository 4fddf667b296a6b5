"""Cohort manifests: a table of subjects (one row each) with image paths and covariates, backed by pyarrow.

A manifest is a CSV (``.csv`` or ``.csv.gz``) or Parquet file with a subject column (``subject_id``), one or
more image columns holding file paths, and any covariate columns (age, sex, site, ...). It is read into a pyarrow
``Table`` (columnar, no Python object per row), so a million-row manifest opens in under a second; the checks at
open (columns present, subject ids non-empty and unique) are vectorised. Covariates are read on demand as float64
arrays (:mod:`~medmonai.data.readers.cohort.columns`). Image headers are not read at open (they are read by
:mod:`medmonai.data.io`): :meth:`CohortManifest.check_row` checks one row as it loads, and
:meth:`CohortManifest.validate` checks every row in parallel and writes a report of the bad ones.

**Rows.** Methods take ``i``, the 0-based position in this manifest (what :meth:`CohortManifest.take` and
``row(i)["row"]`` use). Messages for people name the *file row*: data rows of the manifest file counted from 1,
header excluded, so "row 17" is the 18th line of a CSV. A manifest built by :meth:`CohortManifest.take` keeps
the file rows of its subjects.
"""

from medmonai.data.readers.cohort.columns import ROW_CONVENTION, file_rows_text, to_float64
from medmonai.data.readers.cohort.manifest import REPORT_COLUMNS, CohortManifest

__all__ = ["REPORT_COLUMNS", "ROW_CONVENTION", "CohortManifest", "file_rows_text", "to_float64"]
