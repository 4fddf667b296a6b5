import tracemalloc

import numpy as np
import pyarrow as pa
import pytest
import torch
from torch.utils.data import DataLoader

from medmonai.data.readers.cohort import CohortManifest
from medmonai.data.shards import build_shard_cache
from medmonai.data.streaming import ShardStream, rank_and_world
from medmonai.errors import ConfigError

SAMPLE = (1, 8, 8, 8)


class SeededVolume:
    """A preprocess that makes each path's volume from a seed in its name (sub<number>), so big caches build fast."""

    output_shape = SAMPLE

    def spec(self):
        return {"name": "SeededVolume", "output_shape": list(SAMPLE)}

    def __call__(self, path):
        number = int(path.rsplit("sub", 1)[1].split(".")[0])
        return np.random.default_rng(number).normal(size=SAMPLE).astype(np.float32) + number


def make_cache(folder, n, shard_size=5):
    ids = [f"sub{i:05d}" for i in range(n)]
    table = pa.table({"subject_id": ids, "image": [f"{i}.nii.gz" for i in ids]})
    manifest = CohortManifest(table, folder / "manifest.parquet")
    return build_shard_cache(manifest, folder / "cache", SeededVolume(), shard_size=shard_size, check_rows=False)


@pytest.fixture(scope="module")
def cache37(tmp_path_factory):
    """37 samples in shards of 5 (the last holds 2): sizes that divide by nothing used below."""
    return make_cache(tmp_path_factory.mktemp("stream"), 37)


def indices_seen(stream, num_workers, batch_size=4):
    loader = DataLoader(stream, batch_size=batch_size, num_workers=num_workers)
    return [int(i) for batch in loader for i in batch["index"]]


def test_two_ranks_times_two_workers_see_every_sample_exactly_once(cache37):
    per_rank = []
    for rank in (0, 1):
        stream = ShardStream(cache37, rank=rank, world_size=2, buffer_size=8)
        stream.set_epoch(3)
        per_rank.append(indices_seen(stream, num_workers=2))
        assert len(stream) == len(per_rank[-1])
    assert sorted(per_rank[0] + per_rank[1]) == list(range(37))
    assert {len(seen) for seen in per_rank} == {18, 19}  # counts differ by at most one


def test_a_batch_carries_float32_images_with_their_subjects(cache37):
    batch = next(iter(DataLoader(ShardStream(cache37, world_size=1, rank=0), batch_size=3)))
    assert batch["image"].dtype == torch.float32 and batch["image"].shape == (3, *SAMPLE)
    for image, index, subject, row in zip(
        batch["image"], batch["index"], batch["subject_id"], batch["row"], strict=True
    ):
        assert subject == cache37.subject_ids[index] and row == index  # no skipped rows: row = cache index
        np.testing.assert_array_equal(image.numpy(), cache37.read(int(index)).astype(np.float32))


@pytest.mark.parametrize(
    "world_size, num_workers, buffer_size, shuffle, subset",
    [
        (3, 0, 16, True, False),  # three ranks, main-process loading
        (3, 2, 1, True, False),  # shard order shuffled, no buffer; three ranks of two workers
        (4, 1, 1024, True, True),  # a buffer larger than a rank's block; a selected subset of the cache
        (2, 2, 8, False, True),  # no shuffling
    ],
)
def test_exactly_once_for_other_layouts(cache37, world_size, num_workers, buffer_size, shuffle, subset):
    chosen = np.arange(0, 37, 3) if subset else np.arange(37)
    seen, counts = [], []
    for rank in range(world_size):
        stream = ShardStream(cache37, chosen, shuffle, 7, buffer_size, rank=rank, world_size=world_size)
        got = indices_seen(stream, num_workers)
        seen += got
        counts.append(len(got))
    assert sorted(seen) == chosen.tolist()
    assert max(counts) - min(counts) <= 1


def test_the_same_epoch_repeats_its_order_and_other_epochs_or_seeds_change_it(cache37):
    def order(epoch, seed=0):
        stream = ShardStream(cache37, seed=seed, buffer_size=6, rank=1, world_size=2)
        stream.set_epoch(epoch)
        return indices_seen(stream, num_workers=2)

    first = order(1)
    assert order(1) == first  # same (seed, epoch, rank, world, workers): same order
    assert order(2) != first
    assert order(1, seed=5) != first
    unshuffled = ShardStream(cache37, shuffle=False, rank=0, world_size=1)
    assert indices_seen(unshuffled, num_workers=0) == list(range(37))


def test_epochs_change_which_samples_a_rank_gets(cache37):
    def rank0(epoch):
        stream = ShardStream(cache37, buffer_size=4, rank=0, world_size=2)
        stream.set_epoch(epoch)
        return set(stream.rank_order().tolist())

    assert len({frozenset(rank0(epoch)) for epoch in range(4)}) > 1  # shard order is reshuffled each epoch


def test_even_divisible_pads_every_rank_to_the_same_count(cache37):
    streams = [ShardStream(cache37, rank=r, world_size=3, even_divisible=True) for r in range(3)]
    seen = [indices_seen(stream, num_workers=0) for stream in streams]
    assert [len(s) for s in seen] == [13, 13, 13]  # 37 -> 39: two samples repeated
    assert set(sum(seen, [])) == set(range(37))


def test_memory_stays_flat_as_the_cache_grows(tmp_path):
    def peak(n):
        stream = ShardStream(make_cache(tmp_path / str(n), n, shard_size=50), buffer_size=64, rank=0, world_size=1)
        tracemalloc.start()
        count = sum(len(batch["index"]) for batch in DataLoader(stream, batch_size=16))
        high = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        assert count == n
        return high

    peak(200)  # first-use allocations (imports, caches) out of the way
    small, large = peak(200), peak(2000)
    # 1800 more samples hold 1800 * 1 KiB of float16 images; keeping them (or their float32 copies) would add far more
    assert large < 1.5 * small + 256 * 1024, (small, large)


def test_rank_and_world_come_from_the_arguments_or_default_to_one_process(cache37):
    assert rank_and_world() == (0, 1) and rank_and_world(2, 3) == (2, 3)
    with pytest.raises(ConfigError, match=r"rank must be in \[0, world_size\).*got rank 2 of 2"):
        ShardStream(cache37, rank=2, world_size=2)
    with pytest.raises(ConfigError, match=r"indices must be in \[0, 37\)"):
        ShardStream(cache37, indices=[0, 37])
    with pytest.raises(ConfigError, match="buffer_size must be >= 1, got 0"):
        ShardStream(cache37, buffer_size=0)


def test_batches_per_epoch_counts_what_a_multi_worker_loader_yields(cache37):
    from medmonai.data import batches_per_epoch

    for workers in (0, 2, 3):
        stream = ShardStream(cache37, rank=0, world_size=1, seed=1)
        loader = DataLoader(stream, batch_size=5, num_workers=workers)
        assert batches_per_epoch(stream, 5, workers) == sum(1 for _ in loader), workers
    # 37 samples in batches of 5: one loader makes 8; three workers (13, 12, 12 samples) make 3 + 3 + 3 = 9
    assert batches_per_epoch(ShardStream(cache37, rank=0, world_size=1), 5, 0) == 8
    assert batches_per_epoch(ShardStream(cache37, rank=0, world_size=1), 5, 3) == 9
