import json

import numpy as np
import pandas as pd
import pytest

from medmonai.apps.population import analyze, causal_variants
from medmonai.errors import ConfigError, DataError
from tests.apps.population.conftest import planted_population, write_population

FAST = {"map_methods": (), "repeats": 2, "k_values": (1, 2, 3, 4)}  # the sections under test, quickly


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    return write_population(tmp_path_factory.mktemp("population"), planted_population(n=400, dims=32, seed=0))


def test_the_planted_population_is_recovered_and_every_output_written(inputs, tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    (out / "metrics.json").write_text(json.dumps({"train_loss": 0.5, "probe_r2_age": -1.0}))
    metrics = analyze(
        inputs["embeddings"],
        inputs["manifest"],
        out,
        inputs["genotypes"],
        inputs["truth"],
        map_methods=("tsne",),
        repeats=2,
    )
    assert metrics["cluster_ari_subgroup"] > 0.9 and metrics["cluster_k_gmm_bic"] == 3
    assert metrics["normative_auroc_subgroup"] > 0.95
    assert metrics["assoc_power"] == 1.0 and metrics["assoc_fdp"] <= 0.25 and metrics["assoc_n_causal"] == 3
    assert metrics["probe_r2_age"] > 0.75 and metrics["probe_auroc_sex"] > 0.9
    assert metrics["assoc_dims_age"] > 16 and metrics["analysis_subjects"] == 400
    saved = json.loads((out / "metrics.json").read_text())
    assert saved["train_loss"] == 0.5 and saved["probe_r2_age"] == metrics["probe_r2_age"]  # merged, updated
    figures = ["tsne.png", "cluster_selection.png", "normative.png", "manhattan.png", "qq.png"]
    tables = ["clusters.csv", "cluster_covariates.csv", "normative.csv", "associations.csv", "probes.csv"]
    for name in [*figures, *tables, "covariate_associations.csv", "report.html"]:
        assert (out / name).stat().st_size > 0, name
    assert (out / "report.html").read_text().count("data:image/png;base64,") == len(figures)
    associations = pd.read_csv(out / "associations.csv")
    assert set(associations.loc[associations["found"], "variant"]) >= set(causal_variants(inputs["truth"]))
    clusters = pd.read_csv(out / "clusters.csv")
    assert list(clusters["subject_id"][:2]) == ["sub-00000", "sub-00001"] and len(clusters) == 400
    assert not [p for p in out.iterdir() if p.name.startswith(".")]  # no staging folder left


def test_a_genotype_table_of_other_subjects_is_refused_and_nothing_written(inputs, tmp_path):
    table = pd.read_csv(inputs["genotypes"])
    table.loc[7, "subject_id"] = "stranger"
    table.to_csv(tmp_path / "genotypes.csv", index=False)
    out = tmp_path / "run"
    with pytest.raises(DataError, match=r"genotypes.csv: .*1 subject\(s\) missing \(sub-00007\); 1 extra.*stranger"):
        analyze(inputs["embeddings"], inputs["manifest"], out, tmp_path / "genotypes.csv", **FAST)
    assert not out.exists() or not list(out.iterdir())


def test_optional_inputs_only_skip_their_sections(tmp_path):
    population = planted_population(n=200, dims=16, seed=1)
    paths = write_population(tmp_path / "in", population)
    manifest = pd.read_csv(paths["manifest"]).drop(columns=["subgroup"])
    manifest.to_csv(paths["manifest"], index=False)
    metrics = analyze(paths["embeddings"], paths["manifest"], tmp_path / "out", **FAST)
    assert "cluster_k_gmm_bic" in metrics and "probe_r2_age" in metrics and "assoc_dims_age" in metrics
    assert not [k for k in metrics if k.startswith(("cluster_ari", "normative", "assoc_power", "probe_acc_subgroup"))]
    written = {p.name for p in (tmp_path / "out").iterdir()}
    assert "normative.csv" not in written and "associations.csv" not in written and "umap.png" not in written


def test_truth_may_list_variants_as_objects_and_must_name_real_columns(tmp_path):
    population = planted_population(n=200, dims=16, seed=2)
    paths = write_population(tmp_path / "in", population, causal_as="objects")
    assert causal_variants(paths["truth"]) == population.causal
    metrics = analyze(
        paths["embeddings"], paths["manifest"], tmp_path / "out", paths["genotypes"], paths["truth"], **FAST
    )
    assert metrics["assoc_power"] == 1.0
    with pytest.raises(DataError, match=r"causal variants \['rs_unknown'\] are not columns"):
        analyze(
            paths["embeddings"],
            paths["manifest"],
            tmp_path / "out2",
            paths["genotypes"],
            {"causal_variants": ["rs_unknown"]},
            **FAST,
        )
    with pytest.raises(DataError, match="'causal_variants' must be a list"):
        causal_variants({"causal": []})


def test_splits_may_be_rows_or_subject_ids(tmp_path):
    population = planted_population(n=200, dims=16, seed=3)
    paths = write_population(tmp_path / "in", population)
    test_ids = population.subject_ids[::5]
    train_ids = np.setdiff1d(population.subject_ids, test_ids)
    options = {**FAST, "probe_targets": ("age",), "fractions": (1.0,)}
    by_id = analyze(
        paths["embeddings"], paths["manifest"], tmp_path / "a", splits={"train": train_ids, "test": test_ids}, **options
    )
    rows = {"train": np.flatnonzero(np.isin(population.subject_ids, train_ids)), "test": np.arange(200)[::5]}
    by_row = analyze(paths["embeddings"], paths["manifest"], tmp_path / "b", splits=rows, **options)
    assert by_id["probe_r2_age"] == by_row["probe_r2_age"]
    with pytest.raises(ConfigError, match="splits must hold 'test'"):
        analyze(paths["embeddings"], paths["manifest"], tmp_path / "c", splits={"train": rows["train"]}, **options)
    with pytest.raises(ConfigError, match="unknown option"):
        analyze(paths["embeddings"], paths["manifest"], tmp_path / "c", n_clusters=3)


def test_a_cohort_without_patients_skips_what_needs_them(tmp_path, caplog):
    population = planted_population(n=150, dims=12, seed=5, subgroups=False)
    paths = write_population(tmp_path / "in", population)
    metrics = analyze(paths["embeddings"], paths["manifest"], tmp_path / "out", **FAST)
    assert "probe_acc_subgroup" not in metrics and "probe_r2_age" in metrics
    assert "'subgroup' skipped: a categorical probe needs at least 2 classes" in caplog.text
    assert not [k for k in metrics if k.startswith("normative_")]
    assert (tmp_path / "out" / "normative.csv").is_file()  # everyone is healthy: every deviation is still measured
