import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from medmonai.data import EpochBatchSampler, StackedDataset
from medmonai.errors import DataError


def _datalist(n=10):
    return [{"image": np.full((1, 2, 2), i, np.float32), "label": i % 3, "case": f"c{i}"} for i in range(n)]


def test_stacked_dataset_items_and_batches():
    calls = []

    def transform(item):
        calls.append(item["label"])
        return {**item, "image": item["image"] * 2}

    ds = StackedDataset(_datalist(), transform)
    assert len(ds) == 10 and len(calls) == 10  # transformed once per item
    item = ds[3]
    assert torch.equal(item["image"], torch.full((1, 2, 2), 6.0)) and item["label"] == 0 and item["case"] == "c3"
    batch = ds[[4, 1]]
    assert batch["image"].shape == (2, 1, 2, 2) and batch["label"].tolist() == [1, 1]
    assert batch["case"] == ["c4", "c1"]
    ds[[0, 1, 2]]
    assert len(calls) == 10  # serving batches never re-runs the transform


def test_stacked_dataset_rejects_bad_datalists():
    with pytest.raises(DataError, match="empty datalist"):
        StackedDataset([])
    with pytest.raises(DataError, match="items disagree in shape under key 'image'"):
        StackedDataset([{"image": np.zeros((1, 2))}, {"image": np.zeros((1, 3))}])


def test_epoch_batch_sampler_is_a_seeded_per_epoch_permutation():
    ds = StackedDataset(_datalist(10))
    sampler = EpochBatchSampler(ds, batch_size=4, seed=7)
    sampler.set_epoch(1)
    first = list(sampler)
    sampler.set_epoch(2)
    second = list(sampler)
    sampler.set_epoch(1)
    assert list(sampler) == first  # same epoch, same order: independent of the global RNG
    assert first != second
    assert [len(b) for b in first] == [4, 4, 2] and len(sampler) == 3
    assert sorted(i for b in first for i in b) == list(range(10))


def test_epoch_batch_sampler_drop_last_and_no_shuffle():
    ds = StackedDataset(_datalist(10))
    sampler = EpochBatchSampler(ds, batch_size=4, shuffle=False, drop_last_batch=True)
    assert list(sampler) == [[0, 1, 2, 3], [4, 5, 6, 7]] and len(sampler) == 2


def test_loader_yields_whole_batches():
    ds = StackedDataset(_datalist(10))
    loader = DataLoader(ds, sampler=EpochBatchSampler(ds, batch_size=4, shuffle=False), batch_size=None)
    batches = list(loader)
    assert [b["image"].shape[0] for b in batches] == [4, 4, 2]
    assert torch.equal(batches[1]["label"], torch.tensor([1, 2, 0, 1]))
