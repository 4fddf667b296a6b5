"""MLflow tracking through MONAI's own bundle tracking and each bundle's configs/mlflow.yaml, offline."""

from __future__ import annotations

import pytest

from tests.bundles.helpers import run_cli
from tests.conftest import MNIST_BUNDLE, REPO

mlflow = pytest.importorskip("mlflow", reason="experiment tracking is the optional extra medmonai[tracking]")


def test_every_bundle_has_tracking_settings():
    for configs in sorted(REPO.glob("bundles/*/configs")):
        settings = (configs / "mlflow.yaml").read_text()
        assert "train#trainer" in settings and "experiment_param" in settings and "newest_file" in settings, configs


def test_training_and_inference_runs_land_in_mlflow(tmp_path):
    tracking = ["--tracking", str(MNIST_BUNDLE / "mlflow.yaml")]
    train = run_cli("train.yaml", "--max_epochs", "2", "--output_dir", "out", *tracking, cwd=tmp_path)
    assert train.returncode == 0, train.stderr[-2000:]
    infer = run_cli("inference.yaml", "--output_dir", "out", *tracking, cwd=tmp_path)
    assert infer.returncode == 0, infer.stderr[-2000:]
    client = mlflow.tracking.MlflowClient(f"sqlite:///{tmp_path / 'out' / 'mlruns.db'}")
    (experiment,) = [e for e in client.search_experiments() if e.name == "mnist_vae_latent"]
    runs = {r.info.run_id: r for r in client.search_runs([experiment.experiment_id])}
    assert len(runs) == 2 and all(r.info.status == "FINISHED" for r in runs.values())
    trained = next(r for r in runs.values() if "train_loss" in r.data.metrics)
    assert trained.data.params["max_epochs"] == "2" and trained.data.params["learning_rate"] == "0.001"
    inferred = next(r for r in runs.values() if "test_elbo" in r.data.metrics)
    artifacts = {a.path for a in client.list_artifacts(inferred.info.run_id)}
    assert {"metrics.json", "latent_scatter.png", "reconstructions.png", "samples.png"} <= artifacts
    assert any(name.startswith("config_") and name.endswith(".json") for name in artifacts)  # the resolved config
    typo = run_cli("train.yaml", "--output_dir", "out", *tracking, "--tracking_urii", "x", cwd=tmp_path)
    assert typo.stderr.strip().splitlines()[-1].startswith("medmonai: error: --tracking_urii: no such setting")


def test_report_metrics_get_names_mlflow_accepts():
    from medmonai.bundle.tracking import mlflow_metrics

    metrics = {"ssad3d|intensity/voxel_auroc": 0.9, "ssad3d+intensity/voxel_auroc": 0.8, "ae3d~z/x": 1, "n": None}
    assert mlflow_metrics(metrics) == {
        "ssad3d_or_intensity/voxel_auroc": 0.9,
        "ssad3d_plus_intensity/voxel_auroc": 0.8,
        "ae3d_tilde_z/x": 1.0,
    }
