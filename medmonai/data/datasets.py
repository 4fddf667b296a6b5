"""In-memory datasets served a whole batch at a time.

For data that fits in memory and has deterministic preprocessing, per-item ``__getitem__`` plus collation is
the main cost of a small model's training step. :class:`StackedDataset` applies the transform once per item
and stacks the results; indexed with a list of indices it returns the batch by tensor indexing.
:class:`EpochBatchSampler` yields those index lists from a per-epoch seeded permutation.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset
from torch.utils.data.distributed import DistributedSampler

from medmonai.errors import ConfigError, DataError

__all__ = ["StackedDataset", "EpochBatchSampler"]


def _stack(values: list[Any], key: str) -> Any:
    first = values[0]
    if isinstance(first, (torch.Tensor, np.ndarray, int, float, np.number)):
        try:
            return torch.stack([torch.as_tensor(np.asarray(v) if isinstance(v, np.ndarray) else v) for v in values])
        except RuntimeError as e:
            raise DataError(f"items disagree in shape under key {key!r}: {e}") from e
    return list(values)


class StackedDataset(Dataset):
    """A datalist transformed once and stacked into one tensor per key.

    ``dataset[i]`` returns item ``i``; ``dataset[[i, j, ...]]`` returns the batch ``{key: tensor (B, ...)}``
    directly, so a ``DataLoader(batch_size=None, sampler=EpochBatchSampler(...))`` skips per-item fetching
    and collation. Only deterministic transforms belong here: each item is transformed exactly once.

    Args:
        data: a MONAI datalist (list of dicts) with equal shapes under each key.
        transform: applied to every item once. Defaults to None.

    Raises:
        DataError: ``data`` is empty or items disagree in keys or shapes.
    """

    def __init__(self, data: Sequence[dict], transform: Callable | None = None) -> None:
        if len(data) == 0:
            raise DataError("StackedDataset got an empty datalist")
        self.data = data
        self.transform = transform
        items = [transform(item) if transform is not None else item for item in data]
        keys = list(items[0].keys())
        if any(list(item.keys()) != keys for item in items):
            raise DataError(f"items of the datalist must share keys {keys}")
        self.columns = {key: _stack([item[key] for item in items], key) for key in keys}
        self.length = len(items)

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, index: int | Sequence[int] | torch.Tensor) -> dict[str, Any]:
        if isinstance(index, (int, np.integer)):
            return {k: v[index] for k, v in self.columns.items()}
        rows = torch.as_tensor(index, dtype=torch.long)
        return {
            k: v.index_select(0, rows) if isinstance(v, torch.Tensor) else [v[int(i)] for i in rows]
            for k, v in self.columns.items()
        }


class EpochBatchSampler(DistributedSampler):
    """Batches of indices from a permutation that depends only on ``(seed, epoch)``.

    It is a ``DistributedSampler`` (``num_replicas=1`` by default), so MONAI's workflows call ``set_epoch`` at
    every epoch start: each epoch is shuffled differently, yet the order never draws from the global RNG, and a
    run resumed at epoch k sees the same batches as an uninterrupted one. Use it as the ``sampler`` of a
    ``DataLoader(batch_size=None)`` over a :class:`StackedDataset`.

    Args:
        dataset: the dataset to sample from.
        batch_size: indices per batch.
        seed: shuffle seed. Defaults to 0.
        shuffle: permute each epoch. Defaults to True.
        drop_last_batch: drop a final batch smaller than ``batch_size``. Defaults to False.
        num_replicas: number of processes (DDP). Defaults to 1.
        rank: this process's rank. Defaults to 0.
    """

    def __init__(
        self,
        dataset: Dataset,
        batch_size: int,
        seed: int = 0,
        shuffle: bool = True,
        drop_last_batch: bool = False,
        num_replicas: int = 1,
        rank: int = 0,
    ) -> None:
        super().__init__(dataset, num_replicas=num_replicas, rank=rank, shuffle=shuffle, seed=seed)
        if batch_size < 1:
            raise ConfigError(f"batch_size must be >= 1, got {batch_size}")
        self.batch_size = batch_size
        self.drop_last_batch = drop_last_batch

    def __iter__(self) -> Iterator[list[int]]:
        indices = list(super().__iter__())
        for start in range(0, len(indices), self.batch_size):
            batch = indices[start : start + self.batch_size]
            if self.drop_last_batch and len(batch) < self.batch_size:
                return
            yield batch

    def __len__(self) -> int:
        n = super().__len__()
        return n // self.batch_size if self.drop_last_batch else math.ceil(n / self.batch_size)
