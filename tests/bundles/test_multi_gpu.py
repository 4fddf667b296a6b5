"""The multi-GPU overlays (``configs/multi_gpu_train.yaml``) of every trainable bundle, on CPU with gloo.

Each run launches two processes with ``torchrun``, as a user would; only the loopback address is used:

- medmnist_ae_anomaly has no sampling in its training step, so two processes at batch 30 must end with the
  weights of one process at batch 60, within float32 rounding, and write the same files as that one process;
- every other trainable bundle trains for two epochs on tiny data and writes one set of outputs, from rank 0;
- each overlay runs exactly the writing handlers on rank 0 only (checked on the configs, without running them).
"""

from __future__ import annotations

import json
import math
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from monai.bundle import ConfigParser, ConfigWorkflow
from PIL import Image

from medmonai.errors import find_user_error
from medmonai.runs import load_weights
from medmonai.utils.distributed import writer_handler_ids
from tests.bundles.helpers import run_configs
from tests.conftest import REPO
from tests.data.test_kermany import write_oct_tree

BUNDLES = REPO / "bundles"
TRAINABLE = [p.parent.parent.name for p in sorted(BUNDLES.glob("*/configs/train.yaml"))]
MEDMNIST = {"max_epochs": 2, "ckpt_interval": 1, "n_anomalies": 40}  # the medmnist bundle test's tiny run
# Tolerance of the equivalence test. Both runs train on the same images at every step; only the order of the
# float32 sums differs (two half-batch mean gradients averaged by DDP, against one full-batch mean), which moves
# the weights by about 1e-7 after six Adam steps (4e-8 measured). 1e-5 is 1% of one Adam step (lr 1e-3); a run
# that differs in its batches moves them by about 1e-2 (one process at batch 30: 8e-3 measured, asserted below).
WEIGHTS_ATOL = 1e-5


def _cli(overrides: dict) -> list[str]:
    """``--key value`` pairs; non-strings as JSON, which ``monai.bundle``'s argument parser (fire) reads back."""
    args = []
    for key, value in overrides.items():
        args += [f"--{key}", value if isinstance(value, str) else json.dumps(value)]
    return args


def torchrun(bundle: str, output_dir: Path, overrides: dict) -> subprocess.CompletedProcess:
    """``torchrun --nproc_per_node=2 -m monai.bundle run`` of train.yaml plus the overlay, on 127.0.0.1 only.

    It launches as on several nodes (``--rdzv_backend c10d``), with port 0: the launcher picks a free port itself,
    so parallel test runs cannot collide on one.
    """
    configs = BUNDLES / bundle / "configs"
    launch = ["--rdzv_backend", "c10d", "--rdzv_endpoint", "127.0.0.1:0", "--local_addr", "127.0.0.1"]
    files = str([str(configs / "train.yaml"), str(configs / "multi_gpu_train.yaml")])
    command = [sys.executable, "-m", "torch.distributed.run", "--nnodes", "1", "--nproc_per_node", "2", *launch]
    command += ["-m", "monai.bundle", "run", "--config_file", files, "--output_dir", str(output_dir), *_cli(overrides)]
    env = {k: v for k, v in os.environ.items() if k != "MEDMONAI_TRACEBACK"}
    env.update(OMP_NUM_THREADS="1", GLOO_SOCKET_IFNAME="lo")  # gloo connects over the loopback interface
    result = subprocess.run(command, cwd=output_dir.parent, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result


def outputs(root: Path) -> tuple[list[str], set[str]]:
    """Every file under ``root`` (TensorBoard event files as ``events.<k>``, k-th in its folder) and their writers.

    TensorBoard names its event files ``events.out.tfevents.<time>.<host>.<pid>.<n>``: the pids tell which
    processes wrote logs, and ``<n>`` counts every writer the process has made, so an in-process run late in a test
    session has a large one; the files are numbered per folder instead.
    """
    files, writers, events = [], set(), {}
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        name = path.relative_to(root).as_posix()
        event = re.match(r"(.*)events\.out\.tfevents\.\d+\.[^/]+\.(\d+)\.(\d+)$", name)
        if event:
            events.setdefault(event.group(1), []).append(int(event.group(3)))
            writers.add(event.group(2))
        else:
            files.append(name)
    for folder, counters in events.items():
        files += [f"{folder}events.{k}" for k in range(len(counters))]
    return sorted(files), writers


def test_two_processes_train_as_one_process_with_twice_the_batch(tmp_path):
    # 124 normal training digits: an even count, so the two shards need no padding and every step's two
    # half batches together are the single process's batch
    single, double, control = tmp_path / "one_process_60", tmp_path / "two_processes_30", tmp_path / "one_process_30"
    bundle = BUNDLES / "medmnist_ae_anomaly" / "configs"
    run_configs(bundle, ["train.yaml"], single, batch_size=60, **MEDMNIST)
    double.mkdir()
    torchrun("medmnist_ae_anomaly", double, {**MEDMNIST, "batch_size": 30})
    run_configs(bundle, ["train.yaml"], control, batch_size=30, **MEDMNIST)

    weights = {run: torch.load(run / "model.pt", weights_only=True) for run in (single, double, control)}
    assert weights[double].keys() == weights[single].keys()  # a plain state dict: no DDP "module." prefix
    differences = {
        run: max((weights[run][k] - weights[single][k]).abs().max().item() for k in weights[single])
        for run in (double, control)
    }
    assert differences[double] < WEIGHTS_ATOL < 1e-3 < differences[control], differences
    summaries = {run: json.loads((run / "train_summary.json").read_text()) for run in (single, double)}
    # the training loss is reduced over both processes: the mean of every step's two halves is the full batch's
    assert math.isclose(summaries[double]["final_train_loss"], summaries[single]["final_train_loss"], rel_tol=1e-5)
    # the summary counts the whole job (rank 0's shard times 2), so both runs trained the same 248 images
    assert summaries[double]["train_images"] == summaries[single]["train_images"] == 2 * 124
    assert (summaries[double]["processes"], summaries[single]["processes"]) == (2, 1)
    assert outputs(double)[0] == outputs(single)[0]  # one set of outputs: one checkpoint, one model.pt, ...
    assert len(outputs(double)[1]) == 1  # ... and one process wrote the logs
    checkpoint = torch.load(double / "checkpoints" / "checkpoint_epoch=2.pt", weights_only=True)
    assert checkpoint["network"].keys() == weights[single].keys()  # resumable in one process as well


def _validation_kl(output_dir: Path, overrides: dict) -> float:
    """``val_kl`` (deterministic: no posterior sample) of output_dir's model.pt on the whole validation set."""
    parser = ConfigParser()
    parser.read_config(str(BUNDLES / "mnist_vae_latent" / "configs" / "train.yaml"))
    parser.update({**overrides, "output_dir": str(output_dir), "tensorboard_dir": str(output_dir.parent / "tb")})
    load_weights(output_dir / "model.pt", parser.get_parsed_content("network"))
    evaluator = parser.get_parsed_content("validate#evaluator")
    evaluator.run()
    return evaluator.state.metrics["val_kl"]


def test_mnist_vae_latent_validates_on_shards_and_reduces_the_metrics(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    overrides = {"max_epochs": 2, "val_interval": 1, "ckpt_interval": 1, "batch_size": 32}
    result = torchrun("mnist_vae_latent", out, overrides)
    files, writers = outputs(out)
    expected = ["checkpoints/checkpoint_epoch=2.pt", "model.pt", "tensorboard/events.0", "tensorboard/events.1"]
    assert files == expected + ["train_summary.json"] and len(writers) == 1
    # 259 training digits: each rank trains 130 in each epoch (the sampler repeats one to even the shares)
    assert json.loads((out / "train_summary.json").read_text())["train_images"] == 2 * 2 * 130
    # rank 0 logs the KL over all 29 validation digits (its 15 and rank 1's 14), not over its own shard
    logged = re.findall(r"Epoch\[2\] Metrics -- .*val_kl: ([-\d.]+)", result.stdout + result.stderr)
    assert len(logged) == 1, "rank 0 alone logs the validation metrics"
    assert float(logged[0]) == pytest.approx(_validation_kl(out, overrides), abs=1e-4)


def _image_folder(root: Path, n: int) -> Path:
    """``n`` smooth 16x16 grayscale PNGs (coarse noise upsampled), a folder as a user would pass it."""
    root.mkdir()
    rng = np.random.default_rng(0)
    for i in range(n):
        image = np.kron(rng.integers(0, 256, (4, 4)), np.ones((4, 4))).astype(np.uint8)
        Image.fromarray(image).save(root / f"image_{i:02d}.png")
    return root


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    return str(tmp_path_factory.mktemp("medmonai_cache"))


SMOKE = {
    # bundle: (tiny overrides, as in the bundle's own tests; the files rank 0 writes beside the common ones)
    "isles_dwi_vae": (
        {"max_epochs": 2, "val_interval": 1, "ckpt_interval": 1, "n_embedded_cases": 4},
        ["tensorboard/events.1"],
    ),
    "oct_vae_anomaly": (
        {"max_epochs": 2, "val_interval": 1, "ckpt_interval": 1, "image_size": 32, "latent_size": 8}
        | {"base_channels": 8, "batch_size": 8},
        ["tensorboard/events.1"],
    ),
    "brain_mri_anomaly": (
        {"max_epochs": 2, "ckpt_interval": 1, "patches_per_volume": 2, "embedded_train": 2, "embedded_val": 1}
        | {"embedded_test_lesion": 4, "embedded_test_healthy": 1},
        [],
    ),
    "medical_gan": (
        {"image_shape": [16, 16], "base_shape": [8, 8], "latent_size": 16, "channel_base": 32, "max_channels": 32}
        | {"stages": {"images": [64, 64], "batch_size": [16, 16]}, "ckpt_interval": 1, "val_fraction": 0.1},
        ["discriminator.pt", "interpolation.png", "metrics.json", "samples.png"]
        + ["samples/stage0_8x8.png", "samples/stage1_16x16.png"],
    ),
    "population_ssl": (
        {"n_subjects": 24, "max_epochs": 2, "batch_size": 4, "ckpt_interval": 1, "embedding_dim": 8},
        [
            "cache.lock",
            "embeddings.parquet",
            "embeddings_random_init.parquet",
        ]  # the lock lets every rank wait for rank 0
        + [f"cache/{name}" for name in ("cache.json", "rows.npy", "subject_ids.npy")]
        + ["cache/shard-000000.json", "cache/shard-000000.npy"],
    ),
}


@pytest.mark.parametrize("bundle", list(SMOKE))
def test_every_other_trainable_bundle_trains_on_two_processes(tmp_path, cache, bundle):
    overrides, extra = SMOKE[bundle]
    # the population's cache_dir is its shard cache, which belongs to the run; its generated cohort is shared
    overrides = {**overrides, ("data_cache_dir" if bundle == "population_ssl" else "cache_dir"): cache}
    if bundle == "oct_vae_anomaly":  # the real OCT2017 layout, small
        overrides["dataset_dir"] = str(write_oct_tree(tmp_path / "OCT2017", per_class=6, patients=3))
    if bundle == "medical_gan":  # a user's folder of images: quicker than generating the embedded slices
        overrides["dataset_dir"] = str(_image_folder(tmp_path / "images", 40))
    out = tmp_path / "out"
    out.mkdir()
    torchrun(bundle, out, overrides)
    root = out / "ssad3d" if bundle == "brain_mri_anomaly" else out  # the brain bundle's default model
    files, writers = outputs(root)
    common = ["checkpoints/checkpoint_epoch=2.pt", "model.pt", "tensorboard/events.0", "train_summary.json"]
    assert files == sorted(common + extra) and len(writers) == 1
    summary = json.loads((root / "train_summary.json").read_text())
    if bundle == "brain_mri_anomaly":  # 2 training volumes: each rank caches and trains 1, 2 patches a step
        assert summary["train_images"] == 2 * 2 * 1 * 2
    if bundle == "medical_gan":  # 36 training images: the report compares with all 36, not rank 0's 18
        assert json.loads((out / "metrics.json").read_text())["n_real"] == 36
        assert summary["train_images"] == 2 * 36  # one epoch per stage, 18 images on each rank
    if bundle == "population_ssl":  # every subject embedded once, by rank 0, with the bare model
        from medmonai.apps.population import read_embeddings

        assert len(read_embeddings(out / "embeddings.parquet")[0]) == 24


@pytest.mark.parametrize("bundle", TRAINABLE)
def test_each_overlay_runs_exactly_the_writers_on_rank_0_only(bundle):
    configs = BUNDLES / bundle / "configs"
    assert (configs / "multi_gpu_train.yaml").is_file(), f"{bundle} trains, so it needs configs/multi_gpu_train.yaml"
    merged = ConfigParser.load_config_files([str(configs / "train.yaml"), str(configs / "multi_gpu_train.yaml")])
    overlay = ConfigParser.load_config_file(str(configs / "multi_gpu_train.yaml"))
    # by name: a handler added to train.yaml moves no id the overlay uses
    assert not [key for key in overlay if re.search(r"handlers#\d", key)]
    disabled = {key.rsplit("#", 1)[0] for key, value in overlay.items() if key.endswith("#_disabled_")}
    assert all(overlay[f"{key}#_disabled_"] == "@not_rank0" for key in disabled)
    writers = set(writer_handler_ids(merged, "train#handler_set"))
    if isinstance(merged.get("validate"), dict) and "handler_set" in merged["validate"]:
        writers |= set(writer_handler_ids(merged, "validate#handler_set"))
    assert disabled == writers  # a writing handler added to train.yaml needs its line here
    assert writers, "every trainable bundle writes something"


@pytest.mark.parametrize("bundle", TRAINABLE)
@pytest.mark.parametrize("other_rank", [False, True])
def test_the_trainer_gets_its_named_handlers_in_order_less_the_writers_on_other_ranks(bundle, other_rank):
    configs = BUNDLES / bundle / "configs"
    parser = ConfigParser()
    parser.read_config([str(configs / "train.yaml"), str(configs / "multi_gpu_train.yaml")])
    handler_set = parser["train"]["handler_set"]
    names = list(handler_set)
    writers = {key.rsplit("#", 1)[-1] for key in writer_handler_ids(parser.get(), "train#handler_set")}
    assert handler_set[names[0]]["_target_"].endswith("ResumableCheckpoint")  # first: the others see the resumed epoch
    # each handler stands in as its own name, keeping the overlay's _disabled_ as MONAI reads it
    for name, handler in handler_set.items():
        handler_set[name] = {
            "_target_": "builtins.str",
            "object": name,
            "_disabled_": handler.get("_disabled_", False),
        }
    parser["not_rank0"] = other_rank
    tracking = ConfigParser.load_config_file(str(configs / "mlflow.yaml"))["handlers_id"]["trainer"]["handlers"]
    parser[tracking].append({"_target_": "builtins.str", "object": "mlflow"})  # as MONAI's --tracking does
    expected = [name for name in names if not (other_rank and name in writers)] + ["mlflow"]
    assert parser.get_parsed_content("train#trainer#train_handlers") == expected


def test_the_overlay_outside_torchrun_names_the_launch_command(tmp_path, monkeypatch):
    for name in ("RANK", "LOCAL_RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT"):
        monkeypatch.delenv(name, raising=False)
    configs = BUNDLES / "medmnist_ae_anomaly" / "configs"
    files = [str(configs / "train.yaml"), str(configs / "multi_gpu_train.yaml")]
    out = tmp_path / "out"
    workflow = ConfigWorkflow(config_file=files, workflow_type="train", output_dir=str(out), **MEDMNIST)
    with pytest.raises(Exception) as raised:
        workflow.initialize()
    error = find_user_error(raised.value)
    assert error is not None and "runs under torchrun" in str(error) and "--nproc_per_node" in str(error)
    assert not out.exists()
