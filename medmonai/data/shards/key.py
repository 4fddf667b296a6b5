"""The content address of a shard cache: the SHA-256 of its preprocessing, its manifest's ids and paths, its layout."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import numpy as np

from medmonai.data.shards.cache import CACHE_FORMAT, SHARD_DTYPE

__all__ = ["cache_key"]


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
        preprocess: a :class:`~medmonai.data.shards.Preprocess` (or any object with ``spec()``).
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
