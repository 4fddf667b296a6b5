"""The shard cache's on-disk layout and its reader: :class:`ShardCache` maps complete shards read-only.

See :mod:`medmonai.data.shards` for the files a cache folder holds.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from medmonai.errors import DataError, reason
from medmonai.utils.outputs import atomic_write_bytes

__all__ = ["CACHE_FORMAT", "SHARD_DTYPE", "ShardCache", "read_cache_json", "shard_name", "write_json"]

CACHE_FORMAT = 1  # bump when the on-disk layout or the meaning of a spec changes: every cache is then rebuilt
SHARD_DTYPE = np.float16


def shard_name(index: int) -> str:
    """The file name (without suffix) of shard ``index``: ``shard-NNNNNN``."""
    return f"shard-{index:06d}"


def read_cache_json(cache_dir: Path) -> dict | None:
    """The cache folder's ``cache.json``, or None when there is none.

    Raises:
        DataError: the file is not valid JSON.
    """
    path = cache_dir / "cache.json"
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise DataError(f"{path}: malformed cache.json ({e})") from e


def write_json(path: Path, content: dict) -> None:
    """Write ``content`` as indented JSON, atomically (a reader never sees half a file)."""
    atomic_write_bytes(path, (json.dumps(content, indent=1) + "\n").encode())


class ShardCache:
    """A complete shard cache, read memory-mapped: sample ``i`` is a float16 ``(C, *shape)`` view into its shard.

    Shards are opened on first use and at most ``max_open`` stay mapped; nothing is read until a sample is indexed,
    so opening a cache of a million samples costs the same as one of a thousand (ids and rows are mapped too).

    Args:
        cache_dir: the folder :func:`~medmonai.data.shards.build_shard_cache` wrote.
        max_open: shards kept mapped at once. Defaults to 16.

    Raises:
        DataError: the folder holds no cache, or an incomplete one.
    """

    def __init__(self, cache_dir: str | os.PathLike, max_open: int = 16) -> None:
        self.cache_dir = Path(cache_dir)
        meta = read_cache_json(self.cache_dir)
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
            path = self.cache_dir / f"{shard_name(index)}.npy"
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
