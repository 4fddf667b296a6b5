"""Checkpoints that resume training exactly, and weights export.

MONAI's ``CheckpointSaver`` writes non-atomically, so a run killed mid-save leaves a truncated file that
breaks the next resume. :class:`ResumableCheckpoint` uses ignite's ``Checkpoint`` with an atomic
``DiskSaver`` and stores model, optimizer, trainer and RNG state; rerunning the same command resumes from the
newest checkpoint. All loading goes through :func:`medmonai.runs.safe_torch_load` (``weights_only=True``).
"""

from __future__ import annotations

import io
import logging
import random
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch
from ignite.engine import Engine, Events
from ignite.handlers import Checkpoint, DiskSaver

from medmonai.errors import CheckpointError, reason
from medmonai.runs import safe_torch_load
from medmonai.utils.outputs import atomic_write_bytes

__all__ = ["RNGState", "ResumableCheckpoint", "ModelExporter", "latest_checkpoint"]

logger = logging.getLogger(__name__)
_EPOCH = re.compile(r"^checkpoint_epoch=(\d+)\.pt$")  # ignite names multi-object saves "checkpoint_..."


class RNGState:
    """The torch, CUDA, numpy and Python RNG states as a checkpointable object (tensors and ints only)."""

    def state_dict(self) -> dict[str, Any]:
        """Capture the current RNG states."""
        kind, keys, pos, has_gauss, cached = np.random.get_state()
        state = {
            "torch": torch.get_rng_state(),
            "numpy": {"keys": torch.from_numpy(keys.astype(np.int64)), "pos": pos, "gauss": [has_gauss, cached]},
            "python": random.getstate(),
        }
        if torch.cuda.is_available():
            state["cuda"] = torch.cuda.get_rng_state_all()
        return state

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore RNG states captured by :meth:`state_dict`."""
        torch.set_rng_state(state["torch"])
        numpy = state["numpy"]
        keys = numpy["keys"].numpy().astype(np.uint32)
        np.random.set_state(("MT19937", keys, int(numpy["pos"]), int(numpy["gauss"][0]), float(numpy["gauss"][1])))
        version, internal, gauss = state["python"]
        random.setstate((version, tuple(internal), gauss))
        if "cuda" in state and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(state["cuda"])


def latest_checkpoint(save_dir: str | Path) -> tuple[Path, int] | None:
    """Return ``(path, epoch)`` of the newest ``checkpoint_epoch=N.pt`` in ``save_dir``, or None."""
    save_dir = Path(save_dir)
    if not save_dir.is_dir():
        return None
    found = [(int(m.group(1)), p) for p in save_dir.iterdir() if (m := _EPOCH.match(p.name))]
    if not found:
        return None
    epoch, path = max(found)
    return path, epoch


class ResumableCheckpoint:
    """Save full training state every ``save_interval`` epochs and resume from the newest save on rerun.

    The saved objects are ``save_dict`` plus the trainer itself (``"trainer"``) and the RNG states (``"rng"``).
    When attached to a trainer whose ``save_dir`` already holds a checkpoint, that checkpoint is loaded when the
    run starts: epoch and iteration continue from it, and a larger ``max_epochs`` than before is honoured.

    Args:
        save_dir: folder of the ``checkpoint_epoch=N.pt`` files.
        save_dict: objects with ``state_dict``/``load_state_dict``, e.g. ``{"network": ..., "optimizer": ...}``.
        save_interval: save every this many epochs (and at the end). Defaults to 1.
        n_saved: how many checkpoints to keep. Defaults to 1.
        resume: load the newest checkpoint when present. Defaults to True.
        map_location: ``map_location`` for ``torch.load``. Defaults to ``"cpu"``.
    """

    def __init__(
        self,
        save_dir: str | Path,
        save_dict: Mapping[str, Any],
        save_interval: int = 1,
        n_saved: int = 1,
        resume: bool = True,
        map_location: Any = "cpu",
    ) -> None:
        self.save_dir = Path(save_dir)
        self.save_dict = dict(save_dict)
        self.save_interval = max(1, int(save_interval))
        self.n_saved = n_saved
        self.resume = resume
        self.map_location = map_location

    def attach(self, engine: Engine) -> None:
        """Register saving on ``engine`` and, if a checkpoint exists, loading at ``STARTED``."""
        objects = {**self.save_dict, "trainer": engine, "rng": RNGState()}
        saver = Checkpoint(
            objects,
            DiskSaver(str(self.save_dir), require_empty=False, atomic=True),
            score_function=lambda e: e.state.epoch,
            score_name="epoch",
            n_saved=self.n_saved,
        )
        found = latest_checkpoint(self.save_dir) if self.resume else None
        if found is not None:
            path, epoch = found
            # register the existing file so rotation deletes it once a newer one is written
            saver.load_state_dict({"_saved": [(epoch, path.name)]})
            engine.add_event_handler(Events.STARTED, self._load, path, objects)
        engine.add_event_handler(Events.EPOCH_COMPLETED(every=self.save_interval) | Events.COMPLETED, saver)

    def _load(self, engine: Engine, path: Path, objects: dict[str, Any]) -> None:
        max_epochs = engine.state.max_epochs
        checkpoint = safe_torch_load(path, self.map_location)
        missing = [k for k in objects if k not in checkpoint]
        if missing:
            raise CheckpointError(f"{path}: checkpoint lacks {missing}; delete it to start over")
        try:
            Checkpoint.load_objects(to_load=objects, checkpoint=checkpoint)
        except (RuntimeError, ValueError, KeyError) as e:
            raise CheckpointError(
                f"{path}: does not fit this run ({reason(e)}); the network, optimizer or data changed since it was "
                "saved, so use a new output_dir (or delete the checkpoints to start over)"
            ) from e
        engine.state.max_epochs = max(max_epochs, engine.state.epoch)
        if engine.state.epoch >= max_epochs:
            logger.warning(
                f"{path} is already at epoch {engine.state.epoch} >= max_epochs {max_epochs}: nothing to train; "
                "raise --max_epochs to continue or use a new output_dir"
            )
        else:
            logger.info(f"resuming from {path} at epoch {engine.state.epoch} of {max_epochs}")


class ModelExporter:
    """Write the network's state dict to ``path`` atomically when training completes.

    Args:
        path: output file, e.g. ``<output_dir>/model.pt``.
        network: the trained module.
    """

    def __init__(self, path: str | Path, network: torch.nn.Module) -> None:
        self.path = Path(path)
        self.network = network

    def attach(self, engine: Engine) -> None:
        """Register the export at ``COMPLETED``."""
        engine.add_event_handler(Events.COMPLETED, self)

    def __call__(self, engine: Engine) -> None:
        """Export the weights."""
        buffer = io.BytesIO()
        torch.save({k: v.detach().cpu() for k, v in self.network.state_dict().items()}, buffer)
        atomic_write_bytes(self.path, buffer.getvalue())
        logger.info(f"saved weights to {self.path}")
