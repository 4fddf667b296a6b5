"""Streaming a shard cache for training: shuffled per epoch, split over ranks and DataLoader workers, exactly once.

Each epoch, :class:`ShardStream` orders the selected samples shard by shard, the shards in a seeded random order
(seed, epoch), and cuts that sequence into ``world_size`` contiguous blocks, one per rank, whose lengths differ by
at most one; a rank therefore reads a run of neighbouring shards. Within a rank, MONAI's ``ShuffleBuffer`` mixes
the block (seeded by seed, epoch and rank, so every DataLoader worker of the rank computes the same order) and each
worker keeps every ``num_workers``-th item of it, as MONAI's ``IterableDataset`` does. Every selected sample is
therefore yielded exactly once per epoch across all ranks and workers, and the order is a pure function of
(seed, epoch, rank, world_size, num_workers).

Only sample indices are shuffled and buffered; a sample is read from its memory-mapped shard when it is yielded,
so memory does not grow with the cohort or the buffer.
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import torch
from monai.data import IterableDataset as WorkerSplitDataset
from monai.data import ShuffleBuffer

from medmonai.data.shards import ShardCache
from medmonai.errors import ConfigError
from medmonai.keys import Keys

__all__ = ["ShardStream", "batches_per_epoch", "rank_and_world"]

logger = logging.getLogger(__name__)

SUBJECT_ID, INDEX, ROW = "subject_id", "index", "row"


def rank_and_world(rank: int | None = None, world_size: int | None = None) -> tuple[int, int]:
    """The given rank and world size, else torch.distributed's when it is initialised, else ``(0, 1)``.

    Raises:
        ConfigError: ``rank`` is outside ``[0, world_size)``.
    """
    initialised = torch.distributed.is_available() and torch.distributed.is_initialized()
    if world_size is None:
        world_size = torch.distributed.get_world_size() if initialised else 1
    if rank is None:
        rank = torch.distributed.get_rank() if initialised else 0
    if world_size < 1 or not 0 <= rank < world_size:
        raise ConfigError(f"rank must be in [0, world_size) with world_size >= 1, got rank {rank} of {world_size}")
    return int(rank), int(world_size)


def _seed(*parts: int) -> int:
    """A 32-bit seed mixed from several integers (numpy's SeedSequence), stable across platforms and runs."""
    return int(np.random.SeedSequence([int(p) for p in parts]).generate_state(1)[0])


class ShardStream(torch.utils.data.IterableDataset):
    """A shard cache as a torch ``IterableDataset``: ``{"image", "subject_id", "index", "row"}`` per sample.

    ``image`` is a float32 tensor ``(C, *shape)``, ``index`` the sample's position in the cache and ``row`` its
    manifest row. Call :meth:`set_epoch` before each epoch (as with ``DistributedSampler``); with
    ``persistent_workers=True`` the DataLoader's workers keep the epoch they started with, so leave it False.

    Args:
        cache: a :class:`~medmonai.data.shards.ShardCache` or its folder.
        indices: the cache samples to stream (e.g. a training split, see ``ShardCache.indices_for_rows``); None
            streams all. Defaults to None.
        shuffle: shuffle shards and samples each epoch; False streams in cache order. Defaults to True.
        seed: the shuffling seed. Defaults to 0.
        buffer_size: the shuffle buffer's length, in samples (indices only: it costs no image memory); 1 keeps
            the order within shards. Defaults to 1024.
        rank: this process's rank; None takes torch.distributed's (0 when not initialised). Defaults to None.
        world_size: the number of ranks; None takes torch.distributed's (1 when not initialised). Defaults to None.
        even_divisible: give every rank the same sample count by repeating the first samples of the epoch's order
            (as ``DistributedSampler`` pads), so that ranks run the same number of steps; then a few samples are seen
            twice per epoch. Defaults to False.

    Raises:
        ConfigError: ``buffer_size`` is below 1, ``rank`` is out of range, or an index is outside the cache.
    """

    def __init__(
        self,
        cache: ShardCache | str | os.PathLike,
        indices: Sequence[int] | np.ndarray | None = None,
        shuffle: bool = True,
        seed: int = 0,
        buffer_size: int = 1024,
        rank: int | None = None,
        world_size: int | None = None,
        even_divisible: bool = False,
    ) -> None:
        super().__init__()
        self.cache = cache if isinstance(cache, ShardCache) else ShardCache(cache)
        n = len(self.cache)
        self.indices = np.arange(n) if indices is None else np.asarray(indices, dtype=np.int64).reshape(-1)
        if self.indices.size and (self.indices.min() < 0 or self.indices.max() >= n):
            raise ConfigError(f"indices must be in [0, {n}) for {self.cache.cache_dir}, got {self.indices.min()}..")
        if buffer_size < 1:
            raise ConfigError(f"buffer_size must be >= 1, got {buffer_size}")
        self.shuffle, self.seed, self.buffer_size, self.even_divisible = shuffle, int(seed), buffer_size, even_divisible
        self.rank, self.world_size = rank_and_world(rank, world_size)
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """Use the order of ``epoch`` from the next iteration on."""
        self.epoch = int(epoch)

    def epoch_order(self) -> np.ndarray:
        """The epoch's sequence of every selected sample: shard by shard, shards in seeded random order."""
        shards = self.cache.shard_of(self.indices)
        if not self.shuffle:
            return self.indices[np.lexsort((self.indices, shards))]
        shard_rank = np.random.default_rng(_seed(self.seed, self.epoch)).permutation(self.cache.n_shards)
        return self.indices[np.lexsort((self.indices, shard_rank[shards]))]

    def rank_order(self) -> np.ndarray:
        """This rank's contiguous block of :meth:`epoch_order` (before the shuffle buffer and the worker split)."""
        order = self.epoch_order()
        if self.even_divisible and len(order) % self.world_size:
            padding = self.world_size - len(order) % self.world_size
            order = np.concatenate([order, np.resize(order, padding)])
        return np.array_split(order, self.world_size)[self.rank]

    def __len__(self) -> int:
        """Samples this rank yields per epoch, over all its DataLoader workers."""
        return len(self.rank_order())

    def _sample(self, index: Any) -> dict[str, Any]:
        index = int(index)
        image = torch.from_numpy(np.asarray(self.cache.read(index), dtype=np.float32))
        subject = str(self.cache.subject_ids[index])
        return {Keys.IMAGE: image, SUBJECT_ID: subject, INDEX: index, ROW: int(self.cache.rows[index])}

    def __iter__(self) -> Iterator[dict[str, Any]]:
        """Yield this rank's (and this DataLoader worker's) samples of the current epoch."""
        order = self.rank_order()
        if self.shuffle and self.buffer_size > 1:
            seed = _seed(self.seed, self.epoch, self.rank)
            # ShuffleBuffer adds 1 to its seed as iteration starts, and every worker of this rank draws the same order
            stream = ShuffleBuffer(order, transform=self._sample, buffer_size=self.buffer_size, seed=seed - 1)
        else:
            stream = WorkerSplitDataset(order, transform=self._sample)
        yield from stream


def batches_per_epoch(stream: ShardStream, batch_size: int, num_workers: int = 0) -> int:
    """Batches a ``DataLoader(stream, batch_size, num_workers)`` yields per epoch on this rank.

    Each worker batches its own every-n-th share of the rank's samples, so with several workers there can be one
    partial batch per worker, and the loader's ``len`` (the rank's samples over the batch size) undercounts. An
    engine given the loader's ``len`` would end its epoch early and carry the rest into the next one.
    """
    samples, workers = len(stream), max(int(num_workers), 1)
    return sum(math.ceil(len(range(w, samples, workers)) / batch_size) for w in range(workers))
