import hashlib

import numpy as np
import pytest

from medmonai.data.splits import subject_split
from medmonai.errors import ConfigError


def _split_of(splits):
    """Row index -> split name."""
    return {int(i): name for name, rows in splits.items() for i in rows}


def test_adding_and_shuffling_rows_never_moves_a_subject():
    first = np.array([f"sub{i:05d}" for i in range(2000)])
    before = dict(zip(first, map(_split_of(subject_split(first, seed=3)).get, range(len(first))), strict=True))
    grown = np.concatenate([first, [f"new{i}" for i in range(700)]])
    order = np.random.default_rng(0).permutation(len(grown))
    shuffled = grown[order]
    after = _split_of(subject_split(shuffled, seed=3))
    assert all(after[k] == before[s] for k, s in enumerate(shuffled) if s in before)


def test_every_row_once_and_all_rows_of_a_subject_together():
    ids = np.repeat([f"p{i}" for i in range(500)], 3)  # three images per subject
    splits = subject_split(ids, seed=1)
    rows = np.sort(np.concatenate(list(splits.values())))
    np.testing.assert_array_equal(rows, np.arange(len(ids)))
    for name, indices in splits.items():
        assert np.all(np.diff(indices) > 0) and indices.dtype == np.int64
        members = set(ids[indices])
        assert all(set(ids[other]).isdisjoint(members) for o, other in splits.items() if o != name)


def test_proportions_follow_the_fractions_for_ten_thousand_subjects():
    ids = [f"subject-{i}" for i in range(10_000)]
    splits = subject_split(ids, {"train": 0.7, "val": 0.1, "test": 0.2}, seed=0)
    shares = {name: len(rows) / len(ids) for name, rows in splits.items()}
    assert list(splits) == ["train", "val", "test"]
    # binomial standard deviation is at most 0.0046 here: 0.02 is more than four of them
    assert shares == pytest.approx({"train": 0.7, "val": 0.1, "test": 0.2}, abs=0.02)


def test_the_draw_is_the_documented_seeded_hash():
    ids = np.array(["a", "b", "c", "d", "e", "f", "g", "h"])
    splits = subject_split(ids, {"low": 0.5, "high": 0.5}, seed=11)
    for k, subject in enumerate(ids):
        digest = hashlib.blake2b(f"11:{subject}".encode(), digest_size=8).digest()
        uniform = (int.from_bytes(digest, "big") >> 11) / 2.0**53
        assert k in splits["low" if uniform < 0.5 else "high"]


def test_seed_changes_the_split_and_ids_compare_as_text():
    ids = np.arange(3000)
    a, b = _split_of(subject_split(ids, seed=0)), _split_of(subject_split(ids, seed=1))
    moved = np.mean([a[i] != b[i] for i in range(len(ids))])
    assert 0.25 < moved < 0.45  # independent draws disagree on 1 - (0.8^2 + 2 * 0.1^2) = 34% of subjects
    as_text = _split_of(subject_split(ids.astype(str), seed=0))
    assert as_text == a


@pytest.mark.parametrize(
    "fractions",
    [
        {"train": 0.8, "val": 0.1},  # sums to 0.9
        {"train": 1.1, "val": -0.1},  # a negative share
        {"train": 1.0, "val": 0.0},  # an empty split by construction
        {},  # nothing to split into
    ],
)
def test_bad_fractions_are_refused(fractions):
    with pytest.raises(ConfigError, match="split fractions must be > 0 and sum to 1"):
        subject_split(["a", "b"], fractions)
