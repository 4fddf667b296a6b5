"""The subjects a population analysis studies: embeddings aligned by subject with the cohort manifest's columns."""

from __future__ import annotations

import json
import logging
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from medmonai.apps.population.covariates import is_categorical
from medmonai.apps.population.embeddings import read_embeddings
from medmonai.data.readers.cohort import CohortManifest
from medmonai.errors import DataError

__all__ = ["SHOWN_IDS", "Study", "causal_variants", "load_study"]

logger = logging.getLogger(__name__)

SHOWN_IDS = 5  # subject ids (or variants) listed in a mismatch error


@dataclass
class Study:
    """The subjects analysed, in the embeddings file's order, with everything known about them.

    Attributes:
        source: the embeddings file.
        manifest: the manifest file.
        subject_ids: ``(N,)``.
        matrix: ``(N, D)`` float32 embeddings.
        covariates: ``{name: (N,)}`` adjusting covariates (complete).
        extra: ``{name: (N,)}`` other manifest columns used (subgroup, healthy flag, probe targets; NaN allowed).
        categorical: the names treated as categorical.
        manifest_ids: ``(M,)`` every subject of the manifest (a genotype table must list exactly these).
        rows: ``(N,)`` the manifest row of each analysed subject.
    """

    source: Path
    manifest: Path
    subject_ids: np.ndarray
    matrix: np.ndarray
    covariates: dict[str, np.ndarray]
    extra: dict[str, np.ndarray] = field(default_factory=dict)
    categorical: set[str] = field(default_factory=set)
    manifest_ids: np.ndarray | None = None
    rows: np.ndarray | None = None

    def values(self, name: str) -> np.ndarray | None:
        """A covariate or extra column by name, or None."""
        return self.covariates.get(name, self.extra.get(name))


def _manifest_rows(manifest: CohortManifest, source: Path, subject_ids: np.ndarray) -> np.ndarray:
    """Row of the manifest for each embedded subject; every one must be listed."""
    listed = manifest.subject_ids
    order = np.argsort(listed)
    where = np.clip(np.searchsorted(listed[order], subject_ids), 0, len(listed) - 1)
    found = listed[order][where] == subject_ids
    if not found.all():
        missing = subject_ids[~found]
        raise DataError(
            f"{source}: {len(missing)} embedded subject(s) are not in the manifest {manifest.source} "
            f"({', '.join(missing[:SHOWN_IDS])})"
        )
    unused = len(listed) - len(subject_ids)
    if unused:
        logger.info(f"{manifest.source}: {unused} manifest subject(s) have no embedding and are left out")
    return order[where]


def load_study(
    embeddings_path: str | Path,
    manifest: CohortManifest | str | Path,
    covariates: Sequence[str] = ("age", "sex", "site"),
    extra: Sequence[str] = (),
    categorical: Collection[str] | None = None,
    image_columns: Sequence[str] = ("image",),
) -> Study:
    """Read the embeddings and the manifest columns they are analysed with, aligned by subject.

    Args:
        embeddings_path: Parquet file of :func:`~medmonai.apps.population.embeddings.write_embeddings`.
        manifest: a :class:`~medmonai.data.readers.cohort.CohortManifest`, or its CSV/Parquet file.
        covariates: adjusting covariates; each must be a column, numeric and complete for the embedded subjects.
            Defaults to ``("age", "sex", "site")``.
        extra: other columns read when present (missing values allowed). Defaults to none.
        categorical: the categorical columns; None decides per column (whole numbers, at most 12 levels).
            Defaults to None.
        image_columns: the manifest's image columns when ``manifest`` is a path. Defaults to ``("image",)``.

    Raises:
        DataError: an embedded subject is not in the manifest, a covariate column is missing, not numeric, or has a
            missing value for an embedded subject (naming the file, column and subject).
    """
    source = Path(embeddings_path)
    ids, matrix = read_embeddings(source)
    if not isinstance(manifest, CohortManifest):
        manifest = CohortManifest.read(manifest, image_columns=image_columns)
    rows = _manifest_rows(manifest, source, ids)
    values: dict[str, np.ndarray] = {}
    for name in covariates:
        column = manifest.covariate(name)[rows]
        if not np.isfinite(column).all():
            i = int(np.flatnonzero(~np.isfinite(column))[0])
            raise DataError(
                f"{manifest.source}: column '{name}': missing value for subject '{ids[i]}' "
                f"(row {int(manifest.file_rows[rows[i]]) + 1}); an adjusting covariate must be known for everyone"
            )
        values[name] = column
    others = {n: manifest.covariate(n)[rows] for n in extra if n in manifest.columns and n not in values}
    everything = {**values, **others}
    chosen = {n for n, v in everything.items() if is_categorical(v)} if categorical is None else set(categorical)
    logger.info(f"{source}: {len(ids)} subjects x {matrix.shape[1]} dimensions; categorical: {sorted(chosen)}")
    return Study(source, manifest.source, ids, matrix, values, others, chosen, manifest.subject_ids, rows)


def causal_variants(truth: str | Path | Mapping | None) -> list[str] | None:
    """The planted variants' names from a truth mapping or ``truth.json``: ``{"causal_variants": [...]}``.

    Entries may be names or objects with a ``"variant"`` key. None when no truth is given.

    Raises:
        DataError: the file is missing or malformed, or has no usable ``causal_variants`` list.
    """
    if truth is None:
        return None
    where = "truth" if isinstance(truth, Mapping) else str(truth)
    if not isinstance(truth, Mapping):
        path = Path(truth)
        if not path.is_file():
            raise DataError(f"{path}: truth file not found")
        try:
            truth = json.loads(path.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as e:
            raise DataError(f"{path}: malformed JSON ({e})") from e
    listed = truth.get("causal_variants") if isinstance(truth, Mapping) else None
    if not isinstance(listed, list):
        raise DataError(f"{where}: 'causal_variants' must be a list of variant names, got {type(listed).__name__}")
    names = [entry.get("variant") if isinstance(entry, Mapping) else entry for entry in listed]
    if not all(isinstance(n, str) and n for n in names):
        raise DataError(f"{where}: every 'causal_variants' entry must be a name or hold a 'variant' name, got {listed}")
    return names
