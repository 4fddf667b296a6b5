"""Up-front checks of a bundle run's command-line overrides: unknown ids, types, ranges, device and output folder.

``python -m monai.bundle run`` accepts any ``--name value`` and adds it to the config, so ``--max_epoch 1`` (a
typo) runs with the default ``max_epochs`` and says nothing. Every bundle config calls :func:`check_command_line`
first in ``initialize``; it reads the overrides from the command line, holds each against the config files' own
ids and defaults, and raises one :class:`~medmonai.errors.ConfigError` naming the id and what is allowed, before
anything is read, trained or written. It is also where a command-line run installs the one-line report of input
errors (:func:`~medmonai.errors.install_excepthook`), which importing medmonai leaves alone.
"""

from __future__ import annotations

import difflib
import math
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from medmonai.errors import ConfigError, install_excepthook

__all__ = ["RUN_ARGUMENTS", "check_command_line", "check_overrides", "command_line_overrides", "config_ids"]

# arguments of monai.bundle's run() and ConfigWorkflow: not config ids
RUN_ARGUMENTS = frozenset(
    {"config_file", "meta_file", "logging_file", "run_id", "init_id", "final_id", "tracking", "args_file"}
    | {"workflow_type", "workflow_name", "properties_path"}
)
POSITIVE = frozenset(
    {"max_epochs", "batch_size", "volumes_per_batch", "patches_per_volume", "latent_size", "vae_latent_size"}
    | {"val_interval", "ckpt_interval", "log_interval", "learning_rate", "image_size", "n_samples", "sw_batch_size"}
    | {"n_anomalies", "patch_size", "base_channels", "embedded_train", "embedded_val", "n_embedded_cases"}
    | {"report_cases"}
)
NON_NEGATIVE = frozenset({"num_workers", "seed", "noise_std", "beta", "vae_beta", "median_size", "min_component_size"})
FRACTIONS = frozenset({"test_fraction", "val_fraction", "overlap", "anomaly_prob", "mask_edge_prob"})
RATES = frozenset({"voxel_fpr", "pixel_fpr", "target_fpr"})  # false-positive rates on healthy data, in (0, 1)
MANUAL_THRESHOLDS = frozenset({"image_threshold", "voxel_threshold", "pixel_threshold"})  # a number, or null
VOLUMES_OR_NULL = frozenset({"max_fp_ml"})  # a positive number of ml, or null (not used)
ROI_MULTIPLE = 8  # the 3-D networks halve the patch three times


def config_ids(config: Any, prefix: str = "") -> dict[str, Any]:
    """Every id of a parsed config (``a``, ``a#b``, ``a#0``) with its value."""
    ids: dict[str, Any] = {}
    items = config.items() if isinstance(config, Mapping) else enumerate(config) if isinstance(config, list) else ()
    for key, value in items:
        name = f"{prefix}{key}"
        ids[name] = value
        ids.update(config_ids(value, f"{name}#"))
    return ids


def _is_expression(value: Any) -> bool:
    return isinstance(value, str) and value.startswith(("$", "@", "%"))


def _check_type(key: str, value: Any, default: Any) -> None:
    """``value`` must have the type of a plain ``default`` (expressions and empty defaults take anything)."""
    if _is_expression(value) or _is_expression(default) or default is None:
        return
    if isinstance(default, bool):
        ok, kind = isinstance(value, bool) or str(value).lower() in ("true", "false"), "true or false"
    elif isinstance(default, int):
        ok, kind = isinstance(value, int) and not isinstance(value, bool), "an integer"
    elif isinstance(default, float):
        ok, kind = isinstance(value, (int, float)) and not isinstance(value, bool), "a number"
    else:  # strings and lists: several bundles take a string for a list (``--digits all``)
        return
    if not ok:
        raise ConfigError(f"--{key}: expected {kind}, got {value!r}")


def _check_threshold(key: str, value: Any) -> None:
    """A threshold set by hand: a finite number, or null (``None``, or ``null`` as a command line gives it)."""
    if value is None or (isinstance(value, str) and value.strip().lower() in ("null", "none")):
        return
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ConfigError(f"--{key}: expected a finite number or null, got {value!r}")


def _check_range(key: str, value: Any) -> None:
    name = key.rsplit("#", 1)[-1]
    if name in MANUAL_THRESHOLDS | VOLUMES_OR_NULL:
        _check_threshold(key, value)
        if name in VOLUMES_OR_NULL and isinstance(value, (int, float)) and not value > 0:
            raise ConfigError(f"--{key}: must be a positive number of ml or null, got {value}")
        return
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        if name == "roi_size":
            _check_roi(key, value)
        return
    if name in POSITIVE and not value > 0:
        raise ConfigError(f"--{key}: must be positive, got {value}")
    if name in NON_NEGATIVE and value < 0:
        raise ConfigError(f"--{key}: must be 0 or more, got {value}")
    if name in FRACTIONS and not 0 <= value < 1:
        raise ConfigError(f"--{key}: must be in [0, 1), got {value}")
    if name in RATES and not 0 < value < 1:
        raise ConfigError(f"--{key}: must be in (0, 1), got {value}")


def _check_roi(key: str, value: Any) -> None:
    sizes = list(value) if isinstance(value, (list, tuple)) else []
    if not sizes or not all(isinstance(s, int) and not isinstance(s, bool) and s > 0 for s in sizes):
        raise ConfigError(f"--{key}: must be a list of positive integers, got {value!r}")
    if any(s % ROI_MULTIPLE for s in sizes):
        raise ConfigError(
            f"--{key}: every size must be divisible by {ROI_MULTIPLE} (the networks halve it 3 times), got {value!r}"
        )


def _check_device(key: str, value: Any) -> None:
    import torch

    name = str(value)
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError(f"--{key}: {name} is not available on this machine (no CUDA GPU); use cpu, or leave it out")
    if not name.startswith(("cuda", "cpu", "mps", "$")):
        raise ConfigError(f"--{key}: expected cpu, cuda or cuda:N, got {name!r}")


def _check_output_dir(key: str, value: Any) -> None:
    path = Path(str(value)).expanduser().absolute()
    existing = next(p for p in (path, *path.parents) if p.exists())
    if not existing.is_dir():
        raise ConfigError(f"--{key}: {existing} is a file, so {path} cannot be a folder")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise ConfigError(f"--{key}: {existing} is not writable")


def check_overrides(config: Mapping[str, Any], overrides: Mapping[str, Any], source: str = "the configs") -> None:
    """Hold ``overrides`` against ``config`` (the merged config files, before overrides).

    Args:
        config: the config files' content.
        overrides: ``{id: value}`` as given on the command line (``#`` or ``::`` between levels).
        source: the config files' names, for messages.

    Raises:
        ConfigError: an id the configs do not define (with the closest valid ids), a value of the wrong type or
            out of range, an unavailable device, or an output folder that cannot be made.
    """
    ids = config_ids(config)
    for raw_key, value in overrides.items():
        key = raw_key.replace("::", "#")
        if key in RUN_ARGUMENTS:
            continue
        if key not in ids:
            names = [i for i in ids if "#" not in i] if "#" not in key else list(ids)
            close = difflib.get_close_matches(key, names, n=3, cutoff=0.6)
            hint = f"; did you mean {', '.join('--' + c for c in close)}?" if close else ""
            raise ConfigError(f"--{raw_key}: no such setting in {source}{hint}")
        _check_type(raw_key, value, ids[key])
        _check_range(raw_key, value)
        if key == "device":
            _check_device(raw_key, value)
        if key == "output_dir":
            _check_output_dir(raw_key, value)


def command_line_overrides(argv: Sequence[str] | None = None) -> tuple[list[str], dict[str, Any]] | None:
    """``(config files, overrides)`` of a ``python -m monai.bundle run`` command line, or None for anything else.

    Values are parsed as ``fire`` (which ``monai.bundle`` uses) parses them. A run given an ``--args_file`` is
    not checked here: its settings are not all on the command line.
    """
    from fire.parser import DefaultParseValue

    argv = list(sys.argv if argv is None else argv)
    if not _is_bundle_command(argv) or len(argv) < 2 or argv[1] != "run":
        return None
    args: dict[str, Any] = {}
    tokens, i = argv[2:], 0
    while i < len(tokens):
        token = tokens[i]
        i += 1
        if not token.startswith("--"):
            continue
        key, eq, value = token[2:].partition("=")
        if not eq:
            if i < len(tokens) and not tokens[i].startswith("--"):
                value, i = tokens[i], i + 1
            else:
                value = "True"
        args[key] = DefaultParseValue(value)
    files = args.get("config_file")
    if not files or "args_file" in args:
        return None
    return ([files] if isinstance(files, str) else list(files)), args


def _is_bundle_command(argv: Sequence[str]) -> bool:
    """Whether ``argv`` is that of ``python -m monai.bundle ...`` (its ``argv[0]`` is the package's main)."""
    return bool(argv) and Path(argv[0]).parts[-2:] == ("bundle", "__main__.py")


def check_command_line(argv: Sequence[str] | None = None) -> None:
    """Check the overrides of this ``python -m monai.bundle run`` (a no-op when the bundle runs another way).

    Run from the command line, it also installs :func:`~medmonai.errors.install_excepthook`, so that any input
    error of the run ends in one line; a bundle run from Python (a notebook, a test) keeps its tracebacks.

    Args:
        argv: the command line to check; None checks this process's own (and only then installs the hook).

    Raises:
        ConfigError: see :func:`check_overrides`.
    """
    if argv is None and _is_bundle_command(sys.argv):
        install_excepthook()
    found = command_line_overrides(argv)
    if found is None:
        return
    from monai.bundle import ConfigParser

    files, overrides = found
    config = ConfigParser.load_config_files(files)
    tracking = overrides.get("tracking")
    if tracking:  # MONAI's experiment tracking adds its own ids (tracking_uri, experiment_name, ...)
        config = {**_tracking_ids(tracking), **config}
    check_overrides(config, overrides, ", ".join(Path(f).name for f in files))


def _tracking_ids(tracking: Any) -> dict[str, Any]:
    from monai.bundle import ConfigParser
    from monai.bundle.utils import DEFAULT_MLFLOW_SETTINGS

    if tracking == "mlflow":
        return dict(DEFAULT_MLFLOW_SETTINGS["configs"])
    if isinstance(tracking, dict):
        return dict(tracking.get("configs", {}))
    if not Path(str(tracking)).is_file():
        raise ConfigError(f"--tracking: {tracking} is neither 'mlflow' nor a tracking settings file")
    return dict(ConfigParser.load_config_file(str(tracking)).get("configs", {}))
