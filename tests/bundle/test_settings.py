"""Command-line overrides are checked against the configs before anything runs: one line each, nothing written."""

from __future__ import annotations

import pytest
import torch
from monai.bundle import ConfigParser

from medmonai.bundle.settings import check_overrides, command_line_overrides
from medmonai.errors import ConfigError
from tests.bundles.helpers import run_cli
from tests.conftest import MNIST_BUNDLE, REPO

BRAIN = REPO / "bundles" / "brain_mri_anomaly" / "configs"


@pytest.fixture(scope="module")
def brain_config():
    return ConfigParser.load_config_files([str(BRAIN / "train.yaml"), str(BRAIN / "evaluate.yaml")])


BAD = {
    "typo": ({"max_epoch": 1}, r"--max_epoch: no such setting in brain; did you mean --max_epochs\?"),
    "far_typo": ({"zzz_qqq": 1}, r"--zzz_qqq: no such setting in brain$"),
    "nested_typo": (
        {"train#dataloader#num_workerz": 1},
        r"no such setting .* did you mean --train#dataloader#num_workers",
    ),
    "string_lr": ({"learning_rate": "fast"}, r"--learning_rate: expected a number, got 'fast'"),
    "float_epochs": ({"max_epochs": 2.5}, r"--max_epochs: expected an integer, got 2.5"),
    "zero_epochs": ({"max_epochs": 0}, r"--max_epochs: must be positive, got 0"),
    "negative_lr": ({"learning_rate": -1e-3}, r"--learning_rate: must be positive"),
    "negative_workers": ({"num_workers": -1}, r"--num_workers: must be 0 or more"),
    "roi_not_divisible": ({"roi_size": [30, 32, 32]}, r"--roi_size: every size must be divisible by 8"),
    "roi_not_a_list": ({"roi_size": "big"}, r"--roi_size: must be a list of positive integers"),
    "unknown_device": ({"device": "gpu0"}, r"--device: expected cpu, cuda or cuda:N, got 'gpu0'"),
    "bad_flag": ({"brain_extraction": "maybe"}, r"--brain_extraction: expected true or false"),
    "fpr_above_one": ({"target_fpr": 1.5}, r"--target_fpr: must be in \(0, 1\), got 1.5$"),  # a rate, not a percent
    "fpr_zero": ({"target_fpr": 0}, r"--target_fpr: must be in \(0, 1\), got 0$"),
    "fpr_text": ({"target_fpr": "low"}, r"--target_fpr: expected a number, got 'low'"),
    "voxel_fpr_one": ({"voxel_fpr": 1.0}, r"--voxel_fpr: must be in \(0, 1\), got 1.0$"),
}


@pytest.mark.parametrize("name", list(BAD))
def test_bad_overrides_are_one_config_error_naming_the_id(brain_config, name):
    overrides, message = BAD[name]
    with pytest.raises(ConfigError, match=message):
        check_overrides(brain_config, overrides, "brain")


def test_good_overrides_pass(brain_config, tmp_path):
    check_overrides(
        brain_config,
        {
            "max_epochs": 3,
            "learning_rate": 1,
            "roi_size": [48, 48, 48],
            "brain_extraction": "true",
            "model": "ae3d",
            "train#dataloader#num_workers": 2,
            "output_dir": str(tmp_path / "new" / "run"),
            "device": "cpu",
            "config_file": "x.yaml",
            "dataset_dir": "/data",
        },
        "brain",
    )


@pytest.fixture(scope="module")
def brain_inference_config():
    return ConfigParser.load_config_files([str(BRAIN / "train.yaml"), str(BRAIN / "inference.yaml")])


# thresholds set by hand at inference: a finite number, or null for the calibrated one
MANUAL = {
    "text": ({"image_threshold": "high"}, r"--image_threshold: expected a finite number or null, got 'high'$"),
    "nan": ({"voxel_threshold": "nan"}, r"--voxel_threshold: expected a finite number or null, got 'nan'$"),
    "flag": ({"voxel_threshold": True}, r"--voxel_threshold: expected a finite number or null, got True$"),
}


@pytest.mark.parametrize("name", list(MANUAL))
def test_a_bad_manual_threshold_is_one_config_error_naming_the_id(brain_inference_config, name):
    overrides, message = MANUAL[name]
    with pytest.raises(ConfigError, match=message):
        check_overrides(brain_inference_config, overrides, "brain")


def test_manual_thresholds_take_numbers_or_null(brain_inference_config):
    check_overrides(brain_inference_config, {"image_threshold": 0.5, "voxel_threshold": "null"}, "brain")
    check_overrides(brain_inference_config, {"image_threshold": None, "voxel_threshold": -2}, "brain")


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU, so cuda is a valid device")
def test_cuda_without_a_gpu(brain_config):
    with pytest.raises(ConfigError, match=r"--device: cuda is not available on this machine"):
        check_overrides(brain_config, {"device": "cuda"}, "brain")


def test_output_dir_under_a_file(brain_config, tmp_path):
    (tmp_path / "file.txt").write_text("x")
    with pytest.raises(ConfigError, match=r"file.txt is a file, so .* cannot be a folder"):
        check_overrides(brain_config, {"output_dir": str(tmp_path / "file.txt" / "run")}, "brain")


def test_the_command_line_is_read_as_fire_reads_it():
    argv = [
        "/x/monai/bundle/__main__.py",
        "run",
        "--config_file",
        "['a.yaml','b.yaml']",
        "--max_epochs",
        "3",
        "--learning_rate=1e-3",
        "--brain_extraction",
        "--roi_size",
        "[32,32,32]",
        "--model",
        "ae3d",
    ]
    files, overrides = command_line_overrides(argv)
    assert files == ["a.yaml", "b.yaml"]
    assert overrides == {
        "config_file": ["a.yaml", "b.yaml"],
        "max_epochs": 3,
        "learning_rate": 1e-3,
        "brain_extraction": True,
        "roi_size": [32, 32, 32],
        "model": "ae3d",
    }
    assert command_line_overrides(["pytest", "run"]) is None  # in-process runs are not command lines
    assert command_line_overrides([argv[0], "verify_metadata", "--meta_file", "m.json"]) is None


@pytest.mark.parametrize(
    "args, message",
    [
        (
            ["--max_epoch", "1"],
            "medmonai: error: --max_epoch: no such setting in train.yaml; did you mean --max_epochs?",
        ),
        (["--learning_rate", "fast"], "medmonai: error: --learning_rate: expected a number, got 'fast'"),
        (
            ["--device", "cuda"],
            "medmonai: error: --device: cuda is not available on this machine (no CUDA GPU); use cpu, or leave it out",
        ),
    ],
)
def test_the_cli_prints_one_line_exits_non_zero_and_writes_nothing(tmp_path, args, message):
    if "cuda" in args and torch.cuda.is_available():
        pytest.skip("this machine has a GPU, so cuda is a valid device")
    result = run_cli("train.yaml", "--output_dir", "out", *args, cwd=tmp_path, bundle=MNIST_BUNDLE)
    assert result.returncode != 0
    assert result.stderr.strip().splitlines()[-1] == message
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "out").exists()
