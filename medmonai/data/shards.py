"""A preprocess-once cache of a cohort: fixed-shape float16 shards on disk, content-addressed and resumable.

A cohort too large for memory is preprocessed once (load, orient, resample, crop or pad or resize to one shape,
normalise; :class:`Preprocess`) into shards of ``shard_size`` manifest rows (:func:`build_shard_cache`). Training
then reads the shards memory-mapped (:class:`ShardCache`, streamed by :class:`~medmonai.data.streaming.ShardStream`),
so memory stays flat however large the cohort grows.

On disk, ``cache_dir`` holds:

- ``cache.json``: the cache key, the settings it was built with and, once every shard is written, ``complete``,
  the kept sample count per shard and the rows that were skipped;
- ``shard-NNNNNN.npy``: float16 ``(n, C, *shape)``, the kept rows of manifest rows
  ``[N * shard_size, (N + 1) * shard_size)`` in row order;
- ``shard-NNNNNN.json``: that shard's subject ids, source rows and skipped rows; written after its ``.npy``, so it
  marks the shard complete;
- ``subject_ids.npy`` and ``rows.npy``: every kept sample's subject id (fixed-width text) and source row, written
  last, read memory-mapped.

The cache key is the SHA-256 of the preprocessing spec (every step and argument, the MONAI version, a format
version), the manifest's subject ids and image paths, the shard size and the dtype. A folder holding another key
is refused, never mixed; ``rebuild=True`` replaces it. A killed build is resumed by running it again: complete
shards are kept and only the missing ones are written. Plain ``.npy`` shards were chosen over zarr and WebDataset
because a memory-mapped sample read is a page-cache copy with no decompression, which is the fastest read a local
disk offers, and they need no extra dependency.
"""

from __future__ import annotations

import fcntl
import functools
import hashlib
import io
import itertools
import json
import logging
import math
import os
import shutil
import tempfile
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Executor, ThreadPoolExecutor
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import monai
import numpy as np
import torch
from monai.transforms import (
    Compose,
    LoadImage,
    NormalizeIntensity,
    Orientation,
    Resize,
    ResizeWithPadOrCrop,
    ScaleIntensity,
    ScaleIntensityRangePercentiles,
    Spacing,
)
from monai.utils import convert_to_numpy

from medmonai.errors import ConfigError, DataError, reason
from medmonai.utils.outputs import atomic_write_bytes

__all__ = ["CACHE_FORMAT", "Preprocess", "ShardCache", "build_shard_cache", "cache_key"]

logger = logging.getLogger(__name__)

CACHE_FORMAT = 1  # bump when the on-disk layout or the meaning of a spec changes: every cache is then rebuilt
SHARD_DTYPE = np.float16
NORMALIZATIONS = ("zscore", "percentile", "minmax", "none")
RESIZE_MODES = ("pad_crop", "resize", "fit")


def _step(name: str, **args: Any) -> dict:
    return {"name": name, "args": args}


def _reader_name(reader: Any) -> str | None:
    if reader is None or isinstance(reader, str):
        return reader
    kind = reader if isinstance(reader, type) else type(reader)
    return f"{kind.__module__}.{kind.__qualname__}"


class Preprocess:
    """Load an image file and bring it to one fixed shape and intensity scale, with MONAI transforms.

    Steps, in order: ``LoadImage`` (any format MONAI reads: NIfTI, PNG, DICOM, ...), channel-first; optionally
    ``Orientation`` and ``Spacing``; ``ResizeWithPadOrCrop`` (``"pad_crop"``), ``Resize`` (``"resize"``) or
    ``Resize`` of the longest side then pad/crop, keeping the aspect ratio (``"fit"``); then a normalisation:
    ``NormalizeIntensity`` (``"zscore"``), ``ScaleIntensityRangePercentiles`` to [0, 1] (``"percentile"``),
    ``ScaleIntensity`` to [0, 1] (``"minmax"``) or none.

    Args:
        shape: the spatial output shape, ``spatial_dims`` sizes.
        spatial_dims: 2 (X-rays) or 3 (volumes). Defaults to 3.
        channels: channels each image must have after loading; a 3- or 4-channel (RGB/RGBA) image is averaged to
            one when ``channels`` is 1. Defaults to 1.
        normalize: one of ``"zscore"``, ``"percentile"``, ``"minmax"``, ``"none"``. Defaults to ``"zscore"``.
        resize: one of ``"pad_crop"``, ``"resize"``, ``"fit"``. Defaults to ``"pad_crop"``.
        orientation: axis codes for ``Orientation`` (e.g. ``"RAS"``), or None to keep the stored orientation.
            Defaults to None.
        pixdim: voxel spacing to resample to with ``Spacing`` (mm), or None to keep it. Defaults to None.
        percentiles: lower and upper percentile for ``"percentile"``. Defaults to (1.0, 99.0).
        nonzero: ``"zscore"`` statistics over nonzero voxels only, leaving zeros as they are (skull-stripped
            brains). Defaults to False.
        interpolation: ``Resize`` mode (``"area"``, ``"bilinear"``, ``"trilinear"``, ...). Defaults to ``"area"``.
        reader: the ``LoadImage`` reader (a name, an ``ImageReader`` class or instance), or None for MONAI's choice
            by file suffix. Defaults to None.

    Raises:
        ConfigError: a setting is out of range.
    """

    def __init__(
        self,
        shape: Sequence[int],
        spatial_dims: int = 3,
        channels: int = 1,
        normalize: str = "zscore",
        resize: str = "pad_crop",
        orientation: str | None = None,
        pixdim: Sequence[float] | None = None,
        percentiles: Sequence[float] = (1.0, 99.0),
        nonzero: bool = False,
        interpolation: str = "area",
        reader: Any = None,
    ) -> None:
        self.shape = tuple(int(s) for s in shape)
        if spatial_dims not in (2, 3) or len(self.shape) != spatial_dims or min(self.shape) < 1:
            raise ConfigError(
                f"spatial_dims must be 2 or 3 and shape as many positive sizes, got {spatial_dims} and {tuple(shape)}"
            )
        if channels < 1:
            raise ConfigError(f"channels must be >= 1, got {channels}")
        if normalize not in NORMALIZATIONS:
            raise ConfigError(f"normalize must be one of {NORMALIZATIONS}, got {normalize!r}")
        if resize not in RESIZE_MODES:
            raise ConfigError(f"resize must be one of {RESIZE_MODES}, got {resize!r}")
        if pixdim is not None and len(pixdim) != spatial_dims:
            raise ConfigError(f"pixdim must have {spatial_dims} spacings, got {pixdim}")
        self.spatial_dims, self.channels = spatial_dims, channels
        self.load = LoadImage(reader=reader, image_only=True, ensure_channel_first=True)
        self.steps = self._steps(normalize, resize, orientation, pixdim, tuple(percentiles), nonzero, interpolation)
        self.steps[0]["args"]["reader"] = _reader_name(reader)
        self.match_channels = MatchChannels(channels, spatial_dims)
        self.transform = Compose([_TRANSFORMS[step["name"]](**step["args"]) for step in self.steps[2:]])

    def _steps(self, normalize, resize, orientation, pixdim, percentiles, nonzero, interpolation) -> list[dict]:
        steps = [_step("LoadImage", image_only=True, ensure_channel_first=True, dtype="float32")]
        steps.append(_step("MatchChannels", channels=self.channels, spatial_dims=self.spatial_dims))
        if orientation is not None:
            steps.append(_step("Orientation", axcodes=orientation))
        if pixdim is not None:
            steps.append(_step("Spacing", pixdim=[float(p) for p in pixdim], mode="bilinear"))
        if resize == "fit":
            steps.append(_step("Resize", spatial_size=max(self.shape), size_mode="longest", mode=interpolation))
        if resize == "resize":
            steps.append(_step("Resize", spatial_size=list(self.shape), mode=interpolation))
        else:
            steps.append(_step("ResizeWithPadOrCrop", spatial_size=list(self.shape)))
        norm = {
            "zscore": _step("NormalizeIntensity", nonzero=nonzero, channel_wise=True),
            "percentile": _step(
                "ScaleIntensityRangePercentiles",
                lower=percentiles[0],
                upper=percentiles[1],
                b_min=0.0,
                b_max=1.0,
                clip=True,
                channel_wise=True,
            ),
            "minmax": _step("ScaleIntensity", minv=0.0, maxv=1.0, channel_wise=True),
        }
        if normalize in norm:
            steps.append(norm[normalize])
        return steps

    @property
    def output_shape(self) -> tuple[int, ...]:
        """``(channels, *shape)`` of every preprocessed image."""
        return (self.channels, *self.shape)

    def spec(self) -> dict:
        """A JSON-able description of every step and its arguments, the MONAI version and a format version."""
        return {
            "format": CACHE_FORMAT,
            "monai": monai.__version__,
            "output_shape": list(self.output_shape),
            "steps": json.loads(json.dumps(self.steps)),
        }

    def __call__(self, path: str | os.PathLike) -> np.ndarray:
        """Preprocess one image file into a float32 ``(channels, *shape)`` array.

        Raises:
            DataError: the file is missing or unreadable, or has the wrong number of dimensions or channels.
        """
        try:
            image = self.load(str(path))
        except FileNotFoundError as e:
            raise DataError(f"{path}: image file not found") from e
        except Exception as e:  # each MONAI reader fails its own way; all of them mean "cannot read this file"
            raise DataError(f"{path}: unreadable image ({reason(e)})") from e
        return convert_to_numpy(self.transform(self.match_channels(image, path)), dtype=np.float32)


class MatchChannels:
    """Bring a loaded channel-first image to ``channels`` channels and ``spatial_dims`` spatial dimensions.

    Trailing size-1 spatial axes are dropped (a 2-D DICOM read as ``(1, H, W, 1)``); an RGB or RGBA image is averaged
    to one channel when one is wanted (some chest X-ray PNGs are stored as RGBA).
    """

    def __init__(self, channels: int, spatial_dims: int) -> None:
        self.channels, self.spatial_dims = channels, spatial_dims

    def __call__(self, image: Any, path: Any = "image") -> Any:
        """Return ``image`` as ``(channels, *spatial)``; raises DataError naming ``path`` when it cannot be."""
        while image.ndim - 1 > self.spatial_dims and image.shape[-1] == 1:
            image = image[..., 0]
        if image.ndim - 1 != self.spatial_dims:
            raise DataError(
                f"{path}: image has {image.ndim - 1} spatial dimensions {tuple(image.shape[1:])}, "
                f"expected {self.spatial_dims}"
            )
        if image.shape[0] != self.channels:
            if self.channels == 1 and image.shape[0] in (3, 4):
                return image[:3].mean(dim=0, keepdim=True)
            raise DataError(f"{path}: image has {image.shape[0]} channels, expected {self.channels}")
        return image


_TRANSFORMS = {
    "Orientation": Orientation,
    "Spacing": Spacing,
    "Resize": Resize,
    "ResizeWithPadOrCrop": ResizeWithPadOrCrop,
    "NormalizeIntensity": NormalizeIntensity,
    "ScaleIntensityRangePercentiles": ScaleIntensityRangePercentiles,
    "ScaleIntensity": ScaleIntensity,
}


def _hash_arrow_text(digest: Any, column: Any) -> None:
    """Feed a pyarrow text column to a hash from its buffers: lengths, validity and bytes, however it is chunked."""
    import pyarrow as pa
    import pyarrow.compute as pc

    parts = [hashlib.sha256() for _ in range(3)]  # one per kind, so the chunking does not change the digest
    for chunk in pc.cast(column, pa.large_string()).chunks:
        _, offsets_buffer, data = chunk.buffers()
        offsets = np.frombuffer(offsets_buffer, np.int64)[chunk.offset : chunk.offset + len(chunk) + 1]
        parts[0].update(np.diff(offsets).tobytes())
        parts[1].update(chunk.is_valid().to_numpy(zero_copy_only=False).tobytes())
        parts[2].update(memoryview(data)[offsets[0] : offsets[-1]] if len(chunk) else b"")
    digest.update(f"{len(column)};".encode() + b"".join(part.digest() for part in parts))


def _hash_text(digest: Any, values: Any) -> None:
    """Feed a text array to a hash in one call: fixed-width UTF-32 bytes, with the width, not one string at a time."""
    text = np.ascontiguousarray(np.asarray(values, dtype=str))
    digest.update(f"{text.dtype.str}:{len(text)};".encode())
    digest.update(text.tobytes())


def _hash_manifest(digest: Any, manifest: Any) -> None:
    """Hash the subject ids and image paths of every row, vectorised (no Python object per row)."""
    table = getattr(manifest, "table", None)
    if table is not None and hasattr(manifest, "subject_column"):  # a CohortManifest: its pyarrow columns as stored
        digest.update(f"root={manifest.root};".encode())
        for name in (manifest.subject_column, *manifest.image_columns):
            _hash_arrow_text(digest, table[name])
        return
    _hash_text(digest, manifest.subject_ids)
    for column in manifest.image_columns:
        _hash_text(digest, [str(manifest.row(i)[column]) for i in range(len(manifest))])


def cache_key(manifest: Any, preprocess: Any, shard_size: int) -> str:
    """The content address of a cache: SHA-256 of the preprocessing spec, the manifest's ids and paths, the layout.

    Args:
        manifest: a :class:`~medmonai.data.readers.cohort.CohortManifest` (or anything with ``subject_ids``,
            ``image_columns`` and ``row(i)``).
        preprocess: a :class:`Preprocess` (or any object with ``spec()``).
        shard_size: manifest rows per shard.
    """
    settings = {
        "format": CACHE_FORMAT,
        "dtype": np.dtype(SHARD_DTYPE).name,
        "shard_size": int(shard_size),
        "image_columns": list(manifest.image_columns),
        "spec": preprocess.spec(),
    }
    digest = hashlib.sha256(json.dumps(settings, sort_keys=True).encode())
    _hash_manifest(digest, manifest)
    return digest.hexdigest()


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


def _shard_name(index: int) -> str:
    return f"shard-{index:06d}"


def _read_cache_json(cache_dir: Path) -> dict | None:
    path = cache_dir / "cache.json"
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise DataError(f"{path}: malformed cache.json ({e})") from e


def _write_json(path: Path, content: dict) -> None:
    atomic_write_bytes(path, (json.dumps(content, indent=1) + "\n").encode())


def _claim(cache_dir: Path, header: dict, rebuild: bool) -> bool:
    """Make ``cache_dir`` this build's: True when it already holds the complete cache for ``header['key']``."""
    existing = _read_cache_json(cache_dir)
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
    _write_json(cache_dir / "cache.json", header)
    return False


def _shard_complete(cache_dir: Path, index: int, sample_shape: tuple[int, ...]) -> bool:
    name = _shard_name(index)
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
    name, sample_shape = _shard_name(index), tuple(header["sample_shape"])
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
    _write_json(cache_dir / f"{name}.json", {"subject_ids": subjects, "rows": rows, "skipped": skipped})


def _save_npy_bytes(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    return buffer.getvalue()


def _finish(cache_dir: Path, header: dict) -> None:
    """Gather every shard's ids into ``subject_ids.npy``/``rows.npy``, then mark ``cache.json`` complete."""
    counts, subjects, rows, skipped = [], [], [], []
    for index in range(header["n_shards"]):
        meta = json.loads((cache_dir / f"{_shard_name(index)}.json").read_text(encoding="utf-8"))
        counts.append(len(meta["rows"]))
        subjects.extend(meta["subject_ids"])
        rows.extend(meta["rows"])
        skipped.extend(meta["skipped"])
    if not rows:
        raise DataError(f"{header['source']}: every one of its {header['n_rows']} rows was skipped; nothing to cache")
    atomic_write_bytes(cache_dir / "subject_ids.npy", _save_npy_bytes(np.asarray(subjects, dtype=str)))
    atomic_write_bytes(cache_dir / "rows.npy", _save_npy_bytes(np.asarray(rows, dtype=np.int64)))
    complete = {"complete": True, "counts": counts, "n_samples": len(rows), "skipped": skipped}
    _write_json(cache_dir / "cache.json", header | complete)


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
            logger.info("%s: wrote %s (rows %d-%d)", cache_dir, _shard_name(j), start, stop - 1)


class ShardCache:
    """A complete shard cache, read memory-mapped: sample ``i`` is a float16 ``(C, *shape)`` view into its shard.

    Shards are opened on first use and at most ``max_open`` stay mapped; nothing is read until a sample is indexed,
    so opening a cache of a million samples costs the same as one of a thousand (ids and rows are mapped too).

    Args:
        cache_dir: the folder :func:`build_shard_cache` wrote.
        max_open: shards kept mapped at once. Defaults to 16.

    Raises:
        DataError: the folder holds no cache, or an incomplete one.
    """

    def __init__(self, cache_dir: str | os.PathLike, max_open: int = 16) -> None:
        self.cache_dir = Path(cache_dir)
        meta = _read_cache_json(self.cache_dir)
        if meta is None:
            raise DataError(f"{self.cache_dir}: no cache.json; not a shard cache (build one with build_shard_cache)")
        if not meta.get("complete"):
            raise DataError(f"{self.cache_dir}: shard cache is incomplete; run build_shard_cache again to finish it")
        self.meta = meta
        self.key: str = meta["key"]
        self.shape: tuple[int, ...] = tuple(meta["sample_shape"])
        self.counts = np.asarray(meta["counts"], dtype=np.int64)
        self.offsets = np.concatenate([[0], np.cumsum(self.counts)])
        self.subject_ids, self.rows = self._index_arrays()
        self.max_open = max_open
        self._open: dict[int, np.ndarray] = {}

    def _index_arrays(self) -> tuple[np.ndarray, np.ndarray]:
        """Every sample's subject id and manifest row, memory-mapped."""
        try:
            ids = np.load(self.cache_dir / "subject_ids.npy", mmap_mode="r")
            rows = np.load(self.cache_dir / "rows.npy", mmap_mode="r")
        except (OSError, ValueError) as e:
            raise DataError(f"{self.cache_dir}: unreadable shard cache index ({reason(e)}); rebuild the cache") from e
        if len(ids) != len(self) or len(rows) != len(self):
            raise DataError(f"{self.cache_dir}: index lists {len(ids)} samples, cache.json {len(self)}; rebuild it")
        return ids, rows

    @property
    def skipped(self) -> list[dict]:
        """The manifest rows left out at build time: ``{"row" (0-based position), "subject_id", "problem"}``."""
        return list(self.meta.get("skipped", []))

    @property
    def n_shards(self) -> int:
        """How many shard files the cache has."""
        return len(self.counts)

    def __len__(self) -> int:
        return int(self.offsets[-1])

    def shard_of(self, indices: np.ndarray | Sequence[int]) -> np.ndarray:
        """The shard holding each sample index."""
        return np.searchsorted(self.offsets, np.asarray(indices), side="right") - 1

    def indices_for_rows(self, rows: np.ndarray | Sequence[int]) -> np.ndarray:
        """Sample indices of the given manifest rows, in the order given; rows skipped at build time are left out."""
        rows = np.asarray(rows, dtype=np.int64)
        position = np.clip(np.searchsorted(self.rows, rows), 0, len(self) - 1)
        return position[self.rows[position] == rows]

    def shard(self, index: int) -> np.ndarray:
        """Shard ``index`` as a read-only float16 memory map ``(n, C, *shape)``."""
        block = self._open.pop(index, None)
        if block is None:
            path = self.cache_dir / f"{_shard_name(index)}.npy"
            try:
                block = np.load(path, mmap_mode="r")
            except (OSError, ValueError) as e:
                raise DataError(f"{path}: unreadable shard ({reason(e)}); rebuild the cache") from e
            if block.shape != (self.counts[index], *self.shape):
                raise DataError(f"{path}: shard has shape {block.shape}, cache.json says {self.counts[index]} samples")
            while len(self._open) >= self.max_open:
                self._open.pop(next(iter(self._open)))
        self._open[index] = block  # most recently used last
        return block

    def read(self, index: int) -> np.ndarray:
        """Sample ``index`` as a float16 ``(C, *shape)`` array (a view into the mapped shard).

        Raises:
            IndexError: ``index`` is outside ``[0, len(cache))``.
        """
        if not 0 <= index < len(self):
            raise IndexError(f"sample index must be in [0, {len(self)}), got {index}")
        shard = int(self.shard_of(index))
        return self.shard(shard)[index - self.offsets[shard]]

    def __getstate__(self) -> dict:
        # memory maps would pickle as full copies of their data; DataLoader workers reopen what they read
        return {k: v for k, v in self.__dict__.items() if k not in ("_open", "subject_ids", "rows")}

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self.subject_ids, self.rows = self._index_arrays()
        self._open = {}

    def __repr__(self) -> str:
        return f"ShardCache({str(self.cache_dir)!r}: {len(self)} samples of {self.shape}, {self.n_shards} shards)"
