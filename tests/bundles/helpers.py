"""Run the real bundle configs in-process or through ``python -m monai.bundle``."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from monai.bundle import ConfigWorkflow

from tests.conftest import MNIST_BUNDLE

# tiny overrides: a few fast epochs on the embedded digits
TINY = {"max_epochs": 2, "val_interval": 1, "ckpt_interval": 1, "batch_size": 32}


def config_files(config: str, bundle: Path) -> list[str]:
    """``train.yaml`` alone, or ``train.yaml`` plus an overlay (inference.yaml, evaluate.yaml) as users pass them."""
    return [str(bundle / "train.yaml")] + ([str(bundle / config)] if config != "train.yaml" else [])


def workflow(config: str, output_dir: Path, bundle: Path = MNIST_BUNDLE, **overrides) -> ConfigWorkflow:
    kind = "train" if config == "train.yaml" else "inference"
    files = config_files(config, bundle)
    return ConfigWorkflow(config_file=files, workflow_type=kind, output_dir=str(output_dir), **overrides)


def run_workflow(config: str, output_dir: Path, bundle: Path = MNIST_BUNDLE, **overrides) -> ConfigWorkflow:
    wf = workflow(config, output_dir, bundle, **overrides)
    wf.initialize()
    wf.run()
    wf.finalize()
    return wf


def bundle_command(config: str, *args: str, bundle: Path | None = MNIST_BUNDLE) -> list[str]:
    config_file = (
        config
        if bundle is None
        else str(config_files(config, bundle))
        if config != "train.yaml"
        else str(bundle / config)
    )
    return [sys.executable, "-m", "monai.bundle", "run", "--config_file", config_file, *args]


def run_cli(
    config: str, *args: str, cwd: Path, timeout: float = 300, bundle: Path | None = MNIST_BUNDLE
) -> subprocess.CompletedProcess:
    """Run a bundle config (a file in ``bundle``, or with ``bundle=None`` a literal ``--config_file`` value)."""
    env = {k: v for k, v in os.environ.items() if k != "MEDMONAI_TRACEBACK"}
    return subprocess.run(
        bundle_command(config, *args, bundle=bundle), cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
    )


def run_configs(bundle: Path, configs: list[str], output_dir: Path, **overrides) -> ConfigWorkflow:
    """Run a bundle's config files (``train.yaml``, or ``train.yaml`` plus an overlay) in-process."""
    kind = "train" if configs == ["train.yaml"] else None
    files = [str(bundle / c) for c in configs]
    wf = ConfigWorkflow(config_file=files, workflow_type=kind, output_dir=str(output_dir), **overrides)
    wf.initialize()
    wf.run()
    wf.finalize()
    return wf


def missing_properties(bundle: Path, configs: list[str], kind: str, output_dir: Path, **overrides) -> list:
    """MONAI's ``check_properties`` for a ``train`` or ``infer`` workflow of these configs, after ``initialize``."""
    files = [str(bundle / c) for c in configs]
    wf = ConfigWorkflow(config_file=files, workflow_type=kind, output_dir=str(output_dir), **overrides)
    wf.initialize()
    return wf.check_properties()
