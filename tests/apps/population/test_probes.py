import numpy as np
import pytest

from medmonai.apps.population import label_draw, probe_metrics, probe_scores, probe_table
from medmonai.data.splits import subject_split
from tests.apps.population.conftest import planted_population


@pytest.fixture(scope="module")
def population():
    return planted_population(n=600, dims=32, seed=0)


@pytest.fixture(scope="module")
def split(population):
    return subject_split(population.subject_ids, {"train": 0.8, "test": 0.2}, seed=0)


def test_age_is_read_from_an_informative_embedding_and_not_from_noise(population, split):
    age = population.covariates["age"]
    informative = probe_scores(population.matrix, age, split["train"], split["test"], False, seed=0)
    noise = np.random.default_rng(1).normal(size=population.matrix.shape)
    chance = probe_scores(noise, age, split["train"], split["test"], False, seed=0)
    metrics, null = probe_metrics({"age": informative}), probe_metrics({"age": chance})
    assert metrics["probe_r2_age"] > 0.75 and metrics["probe_r2_age"] == metrics["probe_r2_age_100pct"]
    assert -0.2 < null["probe_r2_age"] < 0.05
    assert metrics["probe_r2_age_1pct"] < metrics["probe_r2_age_10pct"] < metrics["probe_r2_age_100pct"]


def test_an_embedding_without_age_has_no_age_to_probe(split):
    ageless = planted_population(n=600, dims=32, seed=0, age_signal=False)
    rows = probe_scores(ageless.matrix, ageless.covariates["age"], split["train"], split["test"], False)
    assert probe_metrics({"age": rows})["probe_r2_age"] < 0.05


def test_categorical_probes_score_accuracy_and_auroc(population, split):
    results = {
        "sex": probe_scores(population.matrix, population.covariates["sex"], split["train"], split["test"], True),
        "subgroup": probe_scores(population.matrix, population.subgroup, split["train"], split["test"], True),
    }
    metrics = probe_metrics(results)
    assert metrics["probe_auroc_sex"] > 0.9 and metrics["probe_acc_sex"] > 0.8
    assert metrics["probe_acc_subgroup"] > 0.95 and metrics["probe_auroc_subgroup"] > 0.95  # three classes, one-vs-rest
    table = probe_table(results)
    assert list(table.columns[:5]) == ["target", "fraction", "repeat", "n_labels", "n_test"]
    assert len(table) == 2 * (5 + 5 + 1)  # 5 draws at 1% and 10%, the full set once
    one_percent = table[(table["target"] == "subgroup") & (table["fraction"] == 0.01)]
    assert (one_percent["n_labels"] >= 3).all()


def test_label_draws_keep_every_class_and_are_seeded():
    train = np.arange(100, 300)
    classes = (np.arange(200) % 20 == 0).astype(float)  # a rare class: 10 of 200
    first = label_draw(train, 0.01, np.random.default_rng(5), classes)
    again = label_draw(train, 0.01, np.random.default_rng(5), classes)
    np.testing.assert_array_equal(first, again)
    assert len(first) == 3 and len(np.unique(first)) == 3 and np.isin(first, train).all()
    assert set(classes[np.searchsorted(train, first)]) == {0.0, 1.0}
    assert len(label_draw(train, 0.1, np.random.default_rng(0))) == 20
    np.testing.assert_array_equal(label_draw(train[::-1], 1.0, np.random.default_rng(0)), train)


def test_missing_targets_are_left_out_and_too_few_labels_refused(population, split):
    age = population.covariates["age"].copy()
    age[split["test"][:5]] = np.nan
    rows = probe_scores(population.matrix, age, split["train"], split["test"], False, fractions=(1.0,))
    assert rows[0]["n_test"] == len(split["test"]) - 5
    with pytest.raises(ValueError, match="at least 2 labelled train and test rows"):
        probe_scores(population.matrix, age, split["train"][:1], split["test"], False)
    with pytest.raises(ValueError, match="at least 2 classes"):
        probe_scores(population.matrix, np.zeros(600), split["train"], split["test"], True)
