"""The run folder: where training writes a method's weights and summary, and where its calibration goes.

One layout for every bundle, every workflow and a shared package::

    <output_dir>/<method>/model.pt             weights (``<output_dir>/model.pt`` for single-model bundles)
    <output_dir>/<method>/thresholds.json      the calibration inference reads
    <output_dir>/<method>/train_summary.json   what training did

Weights are read one way, :func:`load_weights`, with ``torch.load(..., weights_only=True)``: a weights file from
a shared bundle is never unpickled.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from medmonai.errors import CheckpointError, reason

__all__ = [
    "CALIBRATION_FILE",
    "SUMMARY_FILE",
    "WEIGHTS_FILE",
    "calibration_path",
    "load_weights",
    "method_dir",
    "safe_torch_load",
    "summary_path",
    "weights_path",
]

WEIGHTS_FILE = "model.pt"
CALIBRATION_FILE = "thresholds.json"
SUMMARY_FILE = "train_summary.json"


def method_dir(output_dir: str | Path, method: str | None = None) -> Path:
    """``<output_dir>/<method>``, or ``output_dir`` itself for a bundle with one model (``method`` None)."""
    return Path(output_dir) / method if method else Path(output_dir)


def weights_path(output_dir: str | Path, method: str | None = None) -> Path:
    """Where training writes a method's weights: ``<output_dir>/<method>/model.pt``."""
    return method_dir(output_dir, method) / WEIGHTS_FILE


def calibration_path(output_dir: str | Path, method: str | None = None) -> Path:
    """Where a method's calibration goes: ``thresholds.json`` in its folder, beside its weights."""
    return method_dir(output_dir, method) / CALIBRATION_FILE


def summary_path(output_dir: str | Path, method: str | None = None) -> Path:
    """Where training writes what it did: ``train_summary.json`` in the method's folder."""
    return method_dir(output_dir, method) / SUMMARY_FILE


def safe_torch_load(path: str | Path, map_location: Any = "cpu") -> Any:
    """``torch.load(path, weights_only=True)``; a truncated or foreign file is a :class:`CheckpointError`."""
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except Exception as e:  # torch raises many types for truncated or foreign files
        raise CheckpointError(f"{path}: unreadable checkpoint ({type(e).__name__}: {reason(e)})") from e


def load_weights(path: str | Path, network: torch.nn.Module, map_location: Any = "cpu") -> None:
    """Load a weights file (a plain state dict, or a checkpoint holding ``"network"``) into ``network``.

    Raises:
        CheckpointError: the file is missing, unreadable, or does not fit the network.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: weights file not found; train first or set --ckpt_path")
    state = safe_torch_load(path, map_location)
    if isinstance(state, Mapping) and "network" in state and isinstance(state["network"], Mapping):
        state = state["network"]
    try:
        network.load_state_dict(state)
    except (RuntimeError, TypeError, AttributeError) as e:
        raise CheckpointError(
            f"{path}: weights do not fit the network ({reason(e)}); check latent_size and shapes"
        ) from e
