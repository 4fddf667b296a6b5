import numpy as np
import pytest

from medmonai.data.splits import parse_classes, select_classes, split_by_group, stratified_split
from medmonai.errors import ConfigError, DataError


@pytest.mark.parametrize(
    "case",
    [
        {"given": "all", "expected": None},  # every class
        {"given": None, "expected": None},  # unset means every class
        {"given": [1, 0, 1], "expected": [0, 1]},  # list from YAML, deduplicated and sorted
        {"given": "0,1", "expected": [0, 1]},  # comma string from the CLI
        {"given": "[3, 5]", "expected": [3, 5]},  # list text from the CLI
        {"given": 7, "expected": [7]},  # a single digit
    ],
)
def test_parse_classes(case):
    assert parse_classes(case["given"]) == case["expected"]


@pytest.mark.parametrize("given", [[], "zero", [-1], ["a"]])
def test_parse_classes_rejects(given):
    with pytest.raises(ConfigError, match="digits must be 'all' or a list of non-negative integers"):
        parse_classes(given)


def test_select_classes_keeps_only_requested():
    labels = np.array([0, 1, 2, 1, 0])
    images = np.arange(5)
    kept_images, kept_labels = select_classes(images, labels, [0, 2], "src")
    assert kept_labels.tolist() == [0, 2, 0] and kept_images.tolist() == [0, 2, 4]


def test_select_classes_absent():
    with pytest.raises(DataError, match=r"src: requested digits \[7\] are not in the data; available: \[0, 1\]"):
        select_classes(np.zeros(2), np.array([0, 1]), [1, 7], "src")


def test_stratified_split_is_seeded_disjoint_and_stratified():
    labels = np.repeat([0, 1, 2], 50)
    rest, held = stratified_split(labels, 0.2, seed=3)
    again_rest, again_held = stratified_split(labels, 0.2, seed=3)
    other_rest, _ = stratified_split(labels, 0.2, seed=4)
    np.testing.assert_array_equal(held, again_held)
    np.testing.assert_array_equal(rest, again_rest)
    assert not np.array_equal(rest, other_rest)
    assert set(rest).isdisjoint(held) and len(rest) + len(held) == 150
    assert np.bincount(labels[held]).tolist() == [10, 10, 10]


def test_stratified_split_bad_fraction():
    with pytest.raises(ConfigError, match=r"split fraction must be in \(0, 1\), got 1.5"):
        stratified_split(np.zeros(10), 1.5, 0)


def test_split_by_group_keeps_each_patient_on_one_side():
    items = [f"CNV-{patient}-{scan}.jpeg" for patient in range(10) for scan in range(3)]
    kept, held = split_by_group(items, lambda name: name.split("-")[1], val_fraction=0.2, seed=0)
    assert len(held) == 6 and len(kept) == 24 and sorted(kept + held) == sorted(items)
    assert not {k.split("-")[1] for k in kept} & {h.split("-")[1] for h in held}
    assert (kept, held) == split_by_group(items, lambda name: name.split("-")[1], 0.2, seed=0)  # seeded


def test_split_by_group_needs_two_groups():
    with pytest.raises(DataError, match="need at least 2 patients"):
        split_by_group(["a-1-0.jpeg", "a-1-1.jpeg"], lambda name: name.split("-")[1], 0.5, seed=0)
