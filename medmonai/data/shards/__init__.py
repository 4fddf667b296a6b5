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

from medmonai.data.shards.build import build_shard_cache
from medmonai.data.shards.cache import CACHE_FORMAT, ShardCache
from medmonai.data.shards.key import cache_key
from medmonai.data.shards.preprocess import Preprocess

__all__ = ["CACHE_FORMAT", "Preprocess", "ShardCache", "build_shard_cache", "cache_key"]
