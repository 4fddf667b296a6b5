"""End-to-end tests of bundles/mnist_vae_latent with its real configs and tiny overrides."""

from __future__ import annotations

import json
import math
import signal
import subprocess
import time

import matplotlib.image
import numpy as np
import pytest
import torch

from medmonai.errors import find_user_error
from tests.bundles.helpers import TINY, bundle_command, missing_properties, run_cli, run_workflow, workflow
from tests.conftest import MNIST_BUNDLE, write_mnist_idx, write_mnist_npz

REQUIRED_METRICS = {"latent_knn_accuracy", "latent_knn_auroc", "silhouette", "test_elbo", "train_images_per_second"}
FIGURES = ("latent_scatter.png", "reconstructions.png", "samples.png")


def _cli_overrides(overrides: dict) -> list[str]:
    return [item for key, value in overrides.items() for item in (f"--{key}", str(value))]


def _check_report(out, n_images: int | None = None) -> dict:
    metrics = json.loads((out / "metrics.json").read_text(encoding="utf-8"))
    assert REQUIRED_METRICS <= set(metrics)
    assert all(isinstance(v, (int, float)) and math.isfinite(v) for v in metrics.values()), metrics
    if n_images is not None:
        assert metrics["n_images"] == n_images
    for name in FIGURES:
        image = matplotlib.image.imread(out / name)
        assert image.ndim == 3 and image.shape[0] > 100 and image.shape[1] > 100
        assert image[..., :3].std() > 0.05, f"{name} looks blank"
    return metrics


def test_check_properties_is_empty(tmp_path):
    wf = workflow("train.yaml", tmp_path)
    wf.initialize()
    assert wf.check_properties() == []


def test_train_and_inference_from_another_folder(tmp_path):
    """The CLI as a user runs it, from outside the repository, with a relative output_dir."""
    args = _cli_overrides(dict(TINY, output_dir="out"))
    train = run_cli("train.yaml", *args, cwd=tmp_path)
    assert train.returncode == 0, train.stderr[-2000:]
    infer = run_cli("inference.yaml", "--output_dir", "out", cwd=tmp_path)
    assert infer.returncode == 0, infer.stderr[-2000:]
    out = tmp_path / "out"
    _check_report(out, n_images=72)
    assert missing_properties(MNIST_BUNDLE, ["train.yaml", "inference.yaml"], "infer", out) == []  # needs weights
    weights = torch.load(out / "model.pt", weights_only=True)
    assert weights["net.mu.weight"].shape[0] == 2
    assert [p.name for p in (out / "checkpoints").iterdir()] == ["checkpoint_epoch=2.pt"]
    assert list((out / "tensorboard").glob("events.out.tfevents.*"))
    assert json.loads((out / "train_summary.json").read_text(encoding="utf-8"))["epochs_completed"] == 2


def test_default_setting_separates_zeros_from_ones(tmp_path):
    run_workflow("train.yaml", tmp_path, max_epochs=60, val_interval=30)
    run_workflow("inference.yaml", tmp_path)
    metrics = _check_report(tmp_path)
    assert metrics["latent_knn_accuracy"] >= 0.95 and metrics["silhouette"] > 0.3


def test_all_digits_with_tsne(tmp_path):
    overrides = dict(TINY, digits="all", latent_size=3)
    run_workflow("train.yaml", tmp_path, **overrides)
    run_workflow("inference.yaml", tmp_path, digits="all", latent_size=3)
    metrics = _check_report(tmp_path, n_images=360)  # 20% of 1,797 digits
    assert metrics["latent_size"] == 3


def test_mnist_npz_dataset_dir(tmp_path):
    write_mnist_npz(tmp_path / "data" / "mnist.npz")
    run_workflow("train.yaml", tmp_path / "out", dataset_dir=str(tmp_path / "data"), **TINY)
    run_workflow("inference.yaml", tmp_path / "out", dataset_dir=str(tmp_path / "data"))
    _check_report(tmp_path / "out")


def test_killed_training_resumes_where_it_stopped(tmp_path):
    args = _cli_overrides({"max_epochs": 40, "val_interval": 1000, "ckpt_interval": 1, "output_dir": "out"})
    process = subprocess.Popen(
        bundle_command("train.yaml", *args), cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    checkpoints = tmp_path / "out" / "checkpoints"
    deadline = time.monotonic() + 120
    while not any(int(p.stem.split("=")[1]) >= 3 for p in checkpoints.glob("checkpoint_epoch=*.pt")):
        assert process.poll() is None and time.monotonic() < deadline, "training ended before it could be killed"
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    process.wait()
    killed_at = max(int(p.stem.split("=")[1]) for p in checkpoints.glob("checkpoint_epoch=*.pt"))
    assert killed_at < 40 and not (tmp_path / "out" / "model.pt").exists()

    rerun = run_cli("train.yaml", *args, cwd=tmp_path)
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    assert f"at epoch {killed_at} of 40" in rerun.stdout
    summary = json.loads((tmp_path / "out" / "train_summary.json").read_text(encoding="utf-8"))
    assert summary["epochs_completed"] == 40 and summary["epochs_this_run"] == 40 - killed_at
    assert [p.name for p in checkpoints.iterdir()] == ["checkpoint_epoch=40.pt"]


def _truncated_gz(root):
    write_mnist_idx(root)
    path = root / "train-labels-idx1-ubyte.gz"
    path.write_bytes(path.read_bytes()[:60])
    return {"dataset_dir": str(root)}


def _wrong_npz_keys(root):
    root.mkdir()
    np.savez(root / "mnist.npz", images=np.zeros((4, 28, 28), np.uint8))
    return {"dataset_dir": str(root)}


def _npz(root, images):
    root.mkdir()
    labels = np.arange(len(images)) % 2
    np.savez(root / "mnist.npz", x_train=images, y_train=labels, x_test=images[:10], y_test=labels[:10])
    return {"dataset_dir": str(root)}


def _nan_pixels(root):
    images = np.random.default_rng(0).random((40, 28, 28)).astype(np.float32)
    images[7, 3, 3] = np.nan
    return _npz(root, images)


def _with_blank(n):
    images = np.random.default_rng(0).integers(0, 255, (n, 28, 28)).astype(np.uint8)
    images[3] = 0
    return images


def _no_mnist_files(root):
    root.mkdir()
    (root / "notes.txt").write_text("nothing here")
    return {"dataset_dir": str(root)}


BAD_INPUTS = [
    # (name, build overrides from a scratch folder, text the one-line error must hold)
    ("missing_dataset_dir", lambda root: {"dataset_dir": str(root / "nowhere")}, "nowhere does not exist"),
    ("no_mnist_files", _no_mnist_files, "no MNIST data found"),
    ("wrong_npz_keys", _wrong_npz_keys, "mnist.npz: missing keys ['x_train', 'y_train', 'x_test', 'y_test']"),
    ("truncated_gz", _truncated_gz, "train-labels-idx1-ubyte.gz: truncated or corrupt file"),
    ("nan_pixels", _nan_pixels, "mnist.npz: train image 7 holds NaN or infinite values"),
    ("constant_image", lambda root: _npz(root, _with_blank(40)), "mnist.npz: train image 3 is constant (0)"),
    ("8x8_images", lambda root: _npz(root, np.zeros((40, 8, 8), np.uint8)), "MNIST-format images are 28x28, got 8x8"),
    ("absent_digits", lambda root: {"digits": "[3, 12]"}, "requested digits [12] are not in the data"),
    ("zero_latent_size", lambda root: {"latent_size": 0}, "latent_size must be a positive integer, got 0"),
    ("negative_latent_size", lambda root: {"latent_size": -4}, "latent_size must be a positive integer, got -4"),
]


@pytest.mark.parametrize("config", ["train.yaml", "inference.yaml"])
@pytest.mark.parametrize("name, make, message", BAD_INPUTS, ids=[b[0] for b in BAD_INPUTS])
def test_bad_input_fails_before_any_output(tmp_path, config, name, make, message):
    overrides = make(tmp_path / "data")
    out = tmp_path / "out"
    wf = workflow(config, out, **overrides)
    with pytest.raises(Exception) as raised:
        wf.initialize()
    error = find_user_error(raised.value)
    assert error is not None and message in str(error)
    assert "\n" not in str(error)
    assert not out.exists()


def test_bad_input_on_the_cli_is_one_line_and_keeps_earlier_results(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "metrics.json").write_text('{"latent_knn_accuracy": 0.99}')
    overrides = _truncated_gz(tmp_path / "data")
    result = run_cli("inference.yaml", "--output_dir", str(out), *_cli_overrides(overrides), cwd=tmp_path)
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if "error" in line.lower()]
    expected = f"medmonai: error: {tmp_path}/data/train-labels-idx1-ubyte.gz: truncated or corrupt file ("
    assert len(errors) == 1 and errors[0].startswith(expected), result.stderr[-1000:]
    assert sorted(p.name for p in out.iterdir()) == ["metrics.json"]
    assert (out / "metrics.json").read_text(encoding="utf-8") == '{"latent_knn_accuracy": 0.99}'


def test_inference_without_weights_names_the_file(tmp_path):
    wf = workflow("inference.yaml", tmp_path / "out")
    with pytest.raises(Exception) as raised:  # at initialize, before any engine starts
        wf.initialize()
    assert "model.pt: weights file not found; train first or set --ckpt_path" in str(find_user_error(raised.value))
    assert not (tmp_path / "out").exists()


def test_resume_into_a_different_network_names_the_checkpoint(tmp_path):
    run_workflow("train.yaml", tmp_path, **TINY)
    wf = workflow("train.yaml", tmp_path, **dict(TINY, latent_size=3, max_epochs=3))
    wf.initialize()
    with pytest.raises(Exception) as raised:
        wf.run()
    message = str(find_user_error(raised.value))
    assert "checkpoint_epoch=2.pt: does not fit this run" in message and "use a new output_dir" in message


def test_a_package_of_the_2d_bundle_verifies_and_runs(tmp_path):
    from medmonai.bundle.package import export_package, run_package, verify_package

    run_workflow("train.yaml", tmp_path / "run", **TINY)
    package = export_package(tmp_path / "run", "mnist_vae_latent", tmp_path / "mnist.zip", settings=TINY)
    report = verify_package(package)
    assert report["unlisted"] == [] and report["tooling"]
    assert run_package(package, tmp_path / "receiver").returncode == 0
    ours = json.loads((tmp_path / "receiver" / "results" / "metrics.json").read_text())
    run_workflow("inference.yaml", tmp_path / "run")
    theirs = json.loads((tmp_path / "run" / "metrics.json").read_text())
    timing = {"train_images_per_second"}
    assert {k: v for k, v in ours.items() if k not in timing} == {k: v for k, v in theirs.items() if k not in timing}
