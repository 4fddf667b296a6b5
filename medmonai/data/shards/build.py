"""Building a shard cache: every manifest row preprocessed once into float16 shards, resumably, under a lock.

See :mod:`medmonai.data.shards` for the files it writes.
"""

from __future__ import annotations

import fcntl
import functools
import io
import itertools
import json
import logging
import math
import os
import shutil
import tempfile
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Executor, ThreadPoolExecutor
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from medmonai.data.shards.cache import (
    CACHE_FORMAT,
    SHARD_DTYPE,
    ShardCache,
    read_cache_json,
    shard_name,
    write_json,
)
from medmonai.data.shards.key import cache_key
from medmonai.data.shards.preprocess import Preprocess
from medmonai.errors import ConfigError, DataError
from medmonai.utils.outputs import atomic_write_bytes

__all__ = ["build_shard_cache"]

logger = logging.getLogger(__name__)


@dataclass
class _Row:
    """One preprocessed manifest row, or the one-line reason it could not be preprocessed."""

    row: int
    subject_id: str
    image: np.ndarray | None = None
    problem: str | None = None


def _problem_line(manifest: Any, row: int, subject: str, column: str, text: str) -> str:
    """The manifest's own message form: file row counted from 1 (header excluded), subject, column, problem."""
    file_rows = getattr(manifest, "file_rows", None)
    file_row = int(file_rows[row]) + 1 if file_rows is not None else row + 1
    return f"{manifest.source}: row {file_row} (subject '{subject}'), column '{column}': {text}"


def _prepare_row(manifest: Any, preprocess: Callable, check_rows: bool, row: int) -> _Row:
    item = manifest.row(row)
    subject = str(item["subject_id"])
    files = [str(item[column]) for column in manifest.image_columns]
    problem = manifest.check_row(row) if check_rows else None
    if problem:  # already names the manifest, row, subject, column and file
        return _Row(row, subject, problem=problem)
    parts = []
    for column, file in zip(manifest.image_columns, files, strict=True):
        try:
            parts.append(preprocess(file))
        except DataError as e:  # names the file
            return _Row(row, subject, problem=_problem_line(manifest, row, subject, column, str(e)))
    image = (np.concatenate(parts, axis=0) if len(parts) > 1 else parts[0]).astype(SHARD_DTYPE)
    if not np.isfinite(image).all():
        text = f"{files[0]}: preprocessed values are not finite or exceed float16 (|x| > 65504); normalise them"
        return _Row(row, subject, problem=_problem_line(manifest, row, subject, manifest.image_columns[0], text))
    return _Row(row, subject, image=image)


def _in_order(task: Callable[[int], _Row], rows: Iterable[int], executor: Executor | None, window: int) -> Iterator:
    """``task`` over ``rows``, results in row order, at most ``window`` rows in flight (memory stays bounded)."""
    if executor is None:
        yield from map(task, rows)
        return
    pending: deque = deque()
    for row in rows:
        pending.append(executor.submit(task, row))
        if len(pending) >= window:
            yield pending.popleft().result()
    while pending:
        yield pending.popleft().result()


@contextmanager
def _one_torch_thread(active: bool) -> Iterator[None]:
    """Torch's intra-op threads set to 1 while row threads run (restored after): both at once oversubscribe cores."""
    previous = torch.get_num_threads()
    if active:
        torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def _claim(cache_dir: Path, header: dict, rebuild: bool) -> bool:
    """Make ``cache_dir`` this build's: True when it already holds the complete cache for ``header['key']``."""
    existing = read_cache_json(cache_dir)
    if existing is None and cache_dir.is_dir() and any(cache_dir.iterdir()):
        raise ConfigError(f"{cache_dir}: not empty and holds no shard cache (no cache.json); give an empty folder")
    if existing is not None and existing.get("key") != header["key"]:
        if not rebuild:
            raise ConfigError(
                f"{cache_dir}: holds a shard cache with key {existing.get('key')}, but this manifest, preprocessing "
                f"and shard size give key {header['key']}; pass rebuild=True to replace it, or use another folder"
            )
        logger.warning("%s: removing the shard cache with key %s to rebuild it", cache_dir, existing.get("key"))
        shutil.rmtree(cache_dir)
    elif existing is not None and existing.get("complete"):
        return True
    cache_dir.mkdir(parents=True, exist_ok=True)
    write_json(cache_dir / "cache.json", header)
    return False


def _shard_complete(cache_dir: Path, index: int, sample_shape: tuple[int, ...]) -> bool:
    name = shard_name(index)
    try:
        meta = json.loads((cache_dir / f"{name}.json").read_text(encoding="utf-8"))
        block = np.load(cache_dir / f"{name}.npy", mmap_mode="r")
    except (OSError, ValueError):
        return False
    return block.dtype == SHARD_DTYPE and block.shape == (len(meta["rows"]), *sample_shape)


def _keep_first(path: str, count: int) -> None:
    """Shrink the ``.npy`` at ``path`` to its first ``count`` samples (after skipped rows), through a copy."""
    full = np.load(path, mmap_mode="r")
    fd, shorter = tempfile.mkstemp(dir=Path(path).parent, prefix=".shrink.", suffix=".tmp")
    os.close(fd)
    kept = np.lib.format.open_memmap(shorter, mode="w+", dtype=full.dtype, shape=(count, *full.shape[1:]))
    kept[:] = full[:count]
    kept.flush()
    del kept, full
    os.replace(shorter, path)


def _write_shard(cache_dir: Path, index: int, results: Iterable[_Row], size: int, header: dict, skip: bool) -> None:
    """Write one shard's samples into a temp ``.npy`` as they arrive, rename it, then write its ``.json``."""
    name, sample_shape = shard_name(index), tuple(header["sample_shape"])
    fd, tmp = tempfile.mkstemp(dir=cache_dir, prefix=f".{name}.", suffix=".tmp")
    os.close(fd)
    subjects, rows, skipped = [], [], []
    try:
        block = np.lib.format.open_memmap(tmp, mode="w+", dtype=SHARD_DTYPE, shape=(size, *sample_shape))
        for result in results:
            if result.problem is not None:
                if not skip:
                    raise DataError(result.problem)
                logger.warning("%s (skipped)", result.problem)
                skipped.append({"row": result.row, "subject_id": result.subject_id, "problem": result.problem})
                continue
            if result.image.shape != sample_shape:
                raise ConfigError(
                    f"preprocess gave shape {result.image.shape} for row {result.row}, not {sample_shape}"
                )
            block[len(rows)] = result.image
            subjects.append(result.subject_id)
            rows.append(result.row)
        block.flush()
        del block
        if len(rows) < size:
            _keep_first(tmp, len(rows))
        os.replace(tmp, cache_dir / f"{name}.npy")
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    write_json(cache_dir / f"{name}.json", {"subject_ids": subjects, "rows": rows, "skipped": skipped})


def _save_npy_bytes(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    return buffer.getvalue()


def _finish(cache_dir: Path, header: dict) -> None:
    """Gather every shard's ids into ``subject_ids.npy``/``rows.npy``, then mark ``cache.json`` complete."""
    counts, subjects, rows, skipped = [], [], [], []
    for index in range(header["n_shards"]):
        meta = json.loads((cache_dir / f"{shard_name(index)}.json").read_text(encoding="utf-8"))
        counts.append(len(meta["rows"]))
        subjects.extend(meta["subject_ids"])
        rows.extend(meta["rows"])
        skipped.extend(meta["skipped"])
    if not rows:
        raise DataError(f"{header['source']}: every one of its {header['n_rows']} rows was skipped; nothing to cache")
    atomic_write_bytes(cache_dir / "subject_ids.npy", _save_npy_bytes(np.asarray(subjects, dtype=str)))
    atomic_write_bytes(cache_dir / "rows.npy", _save_npy_bytes(np.asarray(rows, dtype=np.int64)))
    complete = {"complete": True, "counts": counts, "n_samples": len(rows), "skipped": skipped}
    write_json(cache_dir / "cache.json", header | complete)


def _header(manifest: Any, preprocess: Any, shard_size: int) -> dict:
    per_image = tuple(preprocess.output_shape)
    n_rows = len(manifest)
    return {
        "format": CACHE_FORMAT,
        "key": cache_key(manifest, preprocess, shard_size),
        "complete": False,
        "source": str(manifest.source),
        "n_rows": n_rows,
        "shard_size": shard_size,
        "n_shards": math.ceil(n_rows / shard_size),
        "dtype": np.dtype(SHARD_DTYPE).name,
        "sample_shape": [per_image[0] * len(manifest.image_columns), *per_image[1:]],
        "image_columns": list(manifest.image_columns),
        "spec": preprocess.spec(),
    }


def build_shard_cache(
    manifest: Any,
    cache_dir: str | os.PathLike,
    preprocess: Preprocess,
    shard_size: int = 256,
    workers: int = 0,
    skip_invalid: bool = False,
    rebuild: bool = False,
    check_rows: bool = True,
) -> ShardCache:
    """Preprocess every row of a manifest once into float16 shards under ``cache_dir``; resume a killed build.

    Each row's image columns are preprocessed and stacked along the channel axis, so a sample is
    ``(channels * len(image_columns), *shape)``. Run again with the same settings, it returns the complete cache
    at once, or writes only the shards a killed run did not finish. Several processes (e.g. every torchrun rank) may
    call it at once: a lock file ``<cache_dir>.lock`` beside the folder lets one build while the others wait.

    Args:
        manifest: a :class:`~medmonai.data.readers.cohort.CohortManifest`.
        cache_dir: the cache folder (created; must be empty, or hold a cache of these settings).
        preprocess: a :class:`Preprocess` (or any callable ``path -> float32 (C, *shape)`` with ``spec()`` and
            ``output_shape``).
        shard_size: manifest rows per shard. Defaults to 256.
        workers: threads preprocessing rows in parallel (loading, decompression and resizing release the GIL),
            with torch's intra-op threads set to 1 meanwhile; 0 preprocesses in this thread. Threads, not
            processes: a forked process pool deadlocks once torch has used its thread pool, and a spawned one pays
            the imports and a pickled copy of every volume. Defaults to 0.
        skip_invalid: leave out a row whose check or load fails, with one warning line naming row and file, and
            record it in ``cache.json``; if False, such a row stops the build with a DataError, and so does a
            cache (or shards) that an earlier build with ``skip_invalid=True`` wrote without some rows.
            Defaults to False.
        rebuild: replace a cache of other settings in ``cache_dir`` instead of refusing it. Defaults to False.
        check_rows: call ``manifest.check_row(i)`` (headers) before loading each row. Defaults to True.

    Returns:
        The complete :class:`ShardCache`.

    Raises:
        ConfigError: ``cache_dir`` holds a cache of other settings (and ``rebuild`` is False) or files that are not
            a cache, or a setting is out of range.
        DataError: the manifest is empty, a row is invalid (and ``skip_invalid`` is False), or every row was
            skipped. The shards written before are kept and a rerun resumes from them.
    """
    if shard_size < 1 or workers < 0:
        raise ConfigError(f"shard_size must be >= 1 and workers >= 0, got {shard_size} and {workers}")
    if len(manifest) == 0:
        raise DataError(f"{manifest.source}: manifest has no rows; nothing to cache")
    cache_dir = Path(cache_dir)
    header = _header(manifest, preprocess, shard_size)
    with _exclusive(cache_dir):
        if not _claim(cache_dir, header, rebuild):
            _write_missing_shards(manifest, cache_dir, preprocess, header, workers, skip_invalid, check_rows)
            _finish(cache_dir, header)
    cache = ShardCache(cache_dir)
    if cache.skipped and not skip_invalid:  # shards of an earlier lenient build: strict means every row is there
        first, count = cache.skipped[0]["problem"], len(cache.skipped)
        raise DataError(
            f"{first} (one of {count} rows a build with skip_invalid=True left out of {cache_dir}; pass "
            f"skip_invalid=True to use that cache, or fix the files and delete the folder)"
        )
    return cache


@contextmanager
def _exclusive(cache_dir: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``<cache_dir>.lock``, a file beside the cache (it survives a rebuild).

    Under torchrun every rank may call the build: the first builds, the others wait, then find the cache complete.
    """
    cache_dir.parent.mkdir(parents=True, exist_ok=True)
    with open(cache_dir.with_name(f"{cache_dir.name}.lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _write_missing_shards(manifest, cache_dir, preprocess, header, workers, skip_invalid, check_rows) -> None:
    for stale in cache_dir.glob(".*.tmp"):  # a killed run's half-written shard
        stale.unlink(missing_ok=True)
    sample_shape, n_rows, shard_size = tuple(header["sample_shape"]), header["n_rows"], header["shard_size"]
    missing = [j for j in range(header["n_shards"]) if not _shard_complete(cache_dir, j, sample_shape)]
    logger.info("%s: %d of %d shards to write", cache_dir, len(missing), header["n_shards"])
    bounds = {j: (j * shard_size, min(n_rows, (j + 1) * shard_size)) for j in missing}
    rows = (row for j in missing for row in range(*bounds[j]))
    task = functools.partial(_prepare_row, manifest, preprocess, check_rows)
    with ThreadPoolExecutor(workers) if workers else nullcontext() as executor, _one_torch_thread(workers > 0):
        results = _in_order(task, rows, executor, window=2 * workers)
        for j in missing:
            start, stop = bounds[j]
            _write_shard(cache_dir, j, itertools.islice(results, stop - start), stop - start, header, skip_invalid)
            logger.info("%s: wrote %s (rows %d-%d)", cache_dir, shard_name(j), start, stop - 1)
