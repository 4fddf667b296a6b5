"""End-to-end tests of bundles/population_ssl with its real configs, tiny overrides and small cohorts."""

from __future__ import annotations

import csv
import json
import math
import re

import matplotlib.image
import numpy as np
import pytest
import torch
from PIL import Image

from medmonai.apps.population import read_embeddings
from medmonai.data import ShardCache
from medmonai.errors import find_user_error
from tests.bundles.helpers import missing_properties, run_configs
from tests.conftest import REPO

BUNDLE = REPO / "bundles" / "population_ssl" / "configs"
TINY = {"n_subjects": 40, "max_epochs": 2, "batch_size": 8, "ckpt_interval": 1, "embedding_dim": 16}
ANALYSIS = {"few_label_steps": 2, "few_label_repeats": 1, "map_methods": ["tsne"]}


@pytest.fixture(scope="module")
def data_cache(tmp_path_factory):
    return str(tmp_path_factory.mktemp("population_cache"))


@pytest.fixture(scope="module")
def trained(tmp_path_factory, data_cache):
    out = tmp_path_factory.mktemp("population_ssl")
    run_configs(BUNDLE, ["train.yaml"], out, data_cache_dir=data_cache, **TINY)
    return out


def test_training_exports_one_embedding_per_subject_and_a_random_init_baseline(trained):
    ids, matrix = read_embeddings(trained / "embeddings.parquet")
    base_ids, baseline = read_embeddings(trained / "embeddings_random_init.parquet")
    cache = ShardCache(trained / "cache")
    assert len(ids) == len(cache) == 40 and np.array_equal(ids, base_ids) and len(set(ids)) == 40
    assert matrix.shape == baseline.shape == (40, 128)  # context prediction: 16-dim patch embeddings in 2x2x2 regions
    assert not np.allclose(matrix, baseline)  # training changed the encoder
    assert matrix.std(axis=0).min() > 0  # no collapsed dimension
    assert cache.shape == (1, 40, 48, 40) and (trained / "model.pt").is_file()
    summary = json.loads((trained / "train_summary.json").read_text(encoding="utf-8"))
    assert summary["train_images"] == 2 * 27  # two epochs of the 27 training subjects


def test_rerun_with_more_epochs_resumes_from_the_checkpoint(trained, data_cache):
    first = torch.load(trained / "checkpoints" / "checkpoint_epoch=2.pt", weights_only=True)
    run_configs(BUNDLE, ["train.yaml"], trained, data_cache_dir=data_cache, **{**TINY, "max_epochs": 3})
    resumed = torch.load(trained / "checkpoints" / "checkpoint_epoch=3.pt", weights_only=True)
    per_epoch = int(first["trainer"]["epoch_length"])
    assert int(first["trainer"]["iteration"]) == 2 * per_epoch and int(resumed["trainer"]["iteration"]) == 3 * per_epoch
    summary = json.loads((trained / "train_summary.json").read_text(encoding="utf-8"))
    assert summary["train_images"] == 27 and summary["epochs_this_run"] == 1  # one more epoch


def test_analyze_writes_the_figures_tables_and_metrics_reference_003_asks_for(trained, data_cache):
    run_configs(BUNDLE, ["train.yaml", "analyze.yaml"], trained, data_cache_dir=data_cache, **TINY, **ANALYSIS)
    metrics = json.loads((trained / "metrics.json").read_text(encoding="utf-8"))
    for key in ("probe_r2_age", "probe_r2_age_random_init", "cluster_ari_subgroup", "normative_auroc_subgroup"):
        assert math.isfinite(metrics[key]), key
    assert 0.0 <= metrics["assoc_power"] <= 1.0 and 0.0 <= metrics["assoc_fdp"] <= 1.0
    for learner in ("probe", "finetune", "scratch"):
        assert all(f"few_label_{learner}_{p}pct" in metrics for p in ("1", "10", "100")), learner
    assert metrics["few_label_gain_1pct"] == pytest.approx(
        metrics["few_label_probe_1pct"] - metrics["few_label_scratch_1pct"]
    )
    for name in ("tsne.png", "manhattan.png", "qq.png", "normative.png"):
        assert matplotlib.image.imread(trained / name)[..., :3].std() > 0.02, name
    with open(trained / "normative.csv", newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 40 and all(0.0 <= float(r["percentile"]) <= 100.0 for r in rows)
    assert "<html" in (trained / "report.html").read_text(encoding="utf-8").lower()


def test_train_workflow_has_every_monai_property(trained, data_cache):
    assert missing_properties(BUNDLE, ["train.yaml"], "train", trained, data_cache_dir=data_cache, **TINY) == []


def _xray_cohort(folder, n=24, bad=None):
    """A 2-D cohort in the manifest layout: PNGs plus a CSV of subject_id, image, age, sex, site."""
    rng = np.random.default_rng(0)
    (folder / "images").mkdir(parents=True)
    rows = []
    for i in range(n):
        age = 20 + 3 * i
        pixels = (rng.random((40, 36)) * 60 + age).clip(0, 255).astype(np.uint8)
        Image.fromarray(pixels).save(folder / "images" / f"p{i:03d}.png")
        rows.append({"subject_id": f"p{i:03d}", "image": f"images/p{i:03d}.png", "age": age, "sex": i % 2, "site": 0})
    for change in bad or []:
        change(rows, folder)
    with open(folder / "cohort.csv", "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return folder / "cohort.csv"


XRAY = {"image_shape": [32, 32], "covariates": ["age", "sex"], "max_epochs": 1, "batch_size": 8, "embedding_dim": 8}


def test_a_users_2d_xray_manifest_trains_simclr_and_exports_embeddings(tmp_path):
    manifest = _xray_cohort(tmp_path / "cohort")
    out = tmp_path / "out"
    run_configs(BUNDLE, ["train.yaml"], out, manifest=str(manifest), model="simclr", **XRAY)
    ids, matrix = read_embeddings(out / "embeddings.parquet")
    assert sorted(ids) == [f"p{i:03d}" for i in range(24)] and matrix.shape == (24, 8)
    assert ShardCache(out / "cache").shape == (1, 32, 32)


def _drop_column(rows, folder):
    for row in rows:
        row.pop("subject_id")
        row["id"] = "x"


def _duplicate(rows, folder):
    rows[5]["subject_id"] = rows[2]["subject_id"]


def _text_age(rows, folder):
    rows[3]["age"] = "forty"


def _missing_image(rows, folder):
    (folder / rows[7]["image"]).unlink()


BAD = {
    "no_subject_id": (_drop_column, r"cohort\.csv: no 'subject_id' column"),
    "duplicate": (_duplicate, r"cohort\.csv: .*p002.*rows? 3.*6"),
    "text_covariate": (_text_age, r"cohort\.csv: column 'age', row 4: 'forty' is not a number"),
    "missing_image": (_missing_image, r"cohort\.csv: row 8 \(subject 'p007'\).*p007\.png.*not found"),
}


@pytest.mark.parametrize("problem", sorted(BAD))
def test_bad_cohort_fails_in_one_line_before_anything_is_written(tmp_path, problem):
    change, message = BAD[problem]
    manifest = _xray_cohort(tmp_path / "cohort", bad=[change])
    out = tmp_path / "out"
    with pytest.raises(Exception) as info:
        run_configs(BUNDLE, ["train.yaml"], out, manifest=str(manifest), **XRAY)
    error = find_user_error(info.value)
    assert error is not None and re.search(message, str(error)), info.value
    assert "\n" not in str(error) and not out.exists()


def test_missing_images_are_skipped_and_logged_with_skip_invalid(tmp_path):
    manifest = _xray_cohort(tmp_path / "cohort", bad=[_missing_image])
    out, report = tmp_path / "out", tmp_path / "bad_rows.csv"
    run_configs(
        BUNDLE, ["train.yaml"], out, manifest=str(manifest), skip_invalid=True, validation_report=str(report), **XRAY
    )
    with open(report, newline="", encoding="utf-8") as f:
        bad = list(csv.DictReader(f))
    assert [(r["subject_id"], r["file_row"]) for r in bad] == [("p007", "8")] and "not found" in bad[0]["problem"]
    ids, _ = read_embeddings(out / "embeddings.parquet")
    assert len(ids) == 23 and "p007" not in set(ids)
    assert [s["subject_id"] for s in ShardCache(out / "cache").skipped] == ["p007"]


def test_a_genotype_table_of_other_subjects_is_refused(tmp_path):
    manifest = _xray_cohort(tmp_path / "cohort")
    genotypes = tmp_path / "genotypes.csv"
    genotypes.write_text("subject_id,rs1\n" + "".join(f"q{i:03d},1\n" for i in range(24)), encoding="utf-8")
    out = tmp_path / "out"
    with pytest.raises(Exception) as info:
        run_configs(BUNDLE, ["train.yaml"], out, manifest=str(manifest), genotypes=str(genotypes), **XRAY)
    error = find_user_error(info.value)
    assert error is not None and "genotypes.csv" in str(error) and "p000" in str(error), info.value
    assert not out.exists()


def test_a_cache_built_with_other_preprocessing_is_refused_then_rebuilt_on_request(tmp_path):
    manifest = _xray_cohort(tmp_path / "cohort")
    out = tmp_path / "out"
    run_configs(BUNDLE, ["train.yaml"], out, manifest=str(manifest), **XRAY)
    key = ShardCache(out / "cache").key
    with pytest.raises(Exception) as info:
        run_configs(BUNDLE, ["train.yaml"], out, manifest=str(manifest), normalize="minmax", **XRAY)
    error = find_user_error(info.value)
    assert error is not None and "shard cache" in str(error) and "\n" not in str(error), info.value
    assert ShardCache(out / "cache").key == key  # the earlier cache is untouched, never mixed
    run_configs(BUNDLE, ["train.yaml"], out, manifest=str(manifest), normalize="minmax", rebuild_cache=True, **XRAY)
    rebuilt = ShardCache(out / "cache")
    assert rebuilt.key != key and float(np.asarray(rebuilt.read(0)).min()) >= 0.0  # min-max scaled to [0, 1]


def test_inference_embeds_new_subjects_with_the_trained_model(trained, data_cache):
    run_configs(BUNDLE, ["train.yaml", "inference.yaml"], trained, data_cache_dir=data_cache, **TINY)
    ids, matrix = read_embeddings(trained / "inference" / "embeddings.parquet")
    train_ids, trained_matrix = read_embeddings(trained / "embeddings.parquet")
    order = np.argsort(ids)
    # the same subjects through the same weights: what training exported, batch by batch through the evaluator
    assert sorted(ids) == sorted(train_ids) and (trained / "inference" / "cache" / "cache.json").is_file()
    np.testing.assert_allclose(matrix[order], trained_matrix[np.argsort(train_ids)], atol=1e-4)


def test_inference_workflow_has_every_monai_property(trained, data_cache):
    configs = ["train.yaml", "inference.yaml"]
    assert missing_properties(BUNDLE, configs, "infer", trained, data_cache_dir=data_cache, **TINY) == []
