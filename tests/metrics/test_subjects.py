"""Leave-one-subject-out choice: each held-out subject is judged by a method chosen on the others alone."""

import math

import pytest

from medmonai.metrics import leave_one_subject_out, subject_means

# three subjects, two variants each; "steady" is 1.5x the baseline everywhere, "peaky" 3x on a and b but 0.5x on c
BY_GROUP = {
    f"{s}/{v}": {
        "intensity_threshold/voxel_auprc": 0.1,
        "steady/voxel_auprc": 0.15,
        "peaky/voxel_auprc": 0.05 if s == "c" else 0.3,
        "partial/voxel_auprc": 0.9 if s == "a" else math.nan,
    }
    for s in "abc"
    for v in ("stored", "thick")
}


def test_subject_means_average_over_variants_and_skip_missing_values():
    by_group = {"a/x": {"m/k": 1.0}, "a/y": {"m/k": 3.0}, "b/x": {"m/k": math.nan}}
    assert subject_means(by_group, "m/k") == {"a": 2.0}


def test_the_choice_guards_the_worst_other_subject_and_never_sees_the_held_out_one():
    rows = {r["held_out"]: r for r in leave_one_subject_out(BY_GROUP)}
    # held out a or b: c is among the others and sinks peaky to 0.5x, so steady (1.5x everywhere) is chosen
    assert rows["a"]["chosen"] == rows["b"]["chosen"] == "steady"
    assert rows["a"]["held_out_multiple"] == pytest.approx(1.5)
    # held out c: peaky is 3x on both others, so it is chosen, and it fails on c itself
    assert rows["c"]["chosen"] == "peaky"
    assert rows["c"]["worst_on_others"] == pytest.approx(3.0)
    assert rows["c"]["held_out_multiple"] == pytest.approx(0.5)
    # a method missing on some subject is no candidate
    assert all(r["chosen"] != "partial" for r in rows.values())


def test_equal_methods_resolve_to_the_first_name_and_too_few_subjects_are_refused():
    twins = {g: {**m, "a_twin/voxel_auprc": m["steady/voxel_auprc"]} for g, m in BY_GROUP.items()}
    assert leave_one_subject_out(twins, candidates=["steady", "a_twin"])[0]["chosen"] == "a_twin"
    with pytest.raises(ValueError, match="two subjects or more"):
        leave_one_subject_out({"a/x": BY_GROUP["a/stored"]})
    zero = {g: {**m, "intensity_threshold/voxel_auprc": 0.0} for g, m in BY_GROUP.items()}
    with pytest.raises(ValueError, match="is 0 on"):
        leave_one_subject_out(zero)
