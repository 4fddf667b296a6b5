"""Data-loading helpers shared by the bundles."""

from __future__ import annotations

from torch.utils.data import Dataset
from torch.utils.data.distributed import DistributedSampler

__all__ = ["seeded_shuffle_sampler"]


def seeded_shuffle_sampler(dataset: Dataset, seed: int = 0, num_replicas: int = 1, rank: int = 0) -> DistributedSampler:
    """A sampler whose permutation depends only on ``(seed, epoch)``.

    MONAI's workflows call ``set_epoch`` on a ``DistributedSampler`` at every epoch start, so each epoch is
    shuffled differently, yet the order never draws from the global RNG: a run resumed at epoch k sees the
    same batches as an uninterrupted one. With ``num_replicas=1`` it is an ordinary seeded shuffle; DDP passes
    the real world size and rank.

    Args:
        dataset: the dataset to sample from.
        seed: shuffle seed. Defaults to 0.
        num_replicas: number of processes. Defaults to 1.
        rank: this process's rank. Defaults to 0.
    """
    return DistributedSampler(dataset, num_replicas=num_replicas, rank=rank, shuffle=True, seed=seed, drop_last=False)
