"""Ignite/MONAI evaluator computing post-processed anomaly maps of whole volumes for several methods at once."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Protocol

import numpy as np
import torch
from monai.engines import Evaluator
from monai.engines.utils import IterationEvents
from torch.utils.data import DataLoader

from medmonai.errors import ConfigError
from medmonai.keys import Keys
from medmonai.scoring import MapPostprocessor, SlidingWindowMapper

__all__ = ["AnomalyMapEvaluator", "DerivedMethod"]


class DerivedMethod(Protocol):
    """A map made from other methods' maps, fitted on healthy ones (see :class:`medmonai.methods.DerivedMethod`)."""

    methods: list[str]
    rule: str

    def fit(self, records: Sequence[Mapping]) -> DerivedMethod:
        """Fit on the healthy volumes' records (maps, region, affine)."""

    def __call__(self, maps: Mapping[str, np.ndarray], affine: np.ndarray | None = None) -> np.ndarray:
        """The derived map of one volume."""


def _first(value: Any) -> Any:
    return value[0] if isinstance(value, list | tuple) else value


def _input_grid(meta: Mapping) -> tuple[np.ndarray, tuple[int, ...]] | None:
    """The scan file's own ``(affine, shape)``, kept by the loader before any reorientation or resampling."""
    if meta.get("original_affine") is None or meta.get("spatial_shape") is None:
        return None
    shape = np.asarray(meta["spatial_shape"]).reshape(-1)[:3]  # (1, 3) once batched
    affine = np.asarray(meta["original_affine"], np.float64).reshape(-1, 4, 4)[0]
    return affine, tuple(int(s) for s in shape)


def _plain(t: torch.Tensor) -> np.ndarray:
    """``(1, 1, X, Y, Z)`` (Meta)Tensor to its ``(X, Y, Z)`` numpy array."""
    t = t.as_tensor() if hasattr(t, "as_tensor") else t
    return t[0, 0].cpu().numpy()


class AnomalyMapEvaluator(Evaluator):
    """Evaluator whose step maps one volume with every method, then post-processes the maps.

    Batches hold one volume: ``image`` ``(1, C, X, Y, Z)``, ``brain_mask`` ``(1, 1, X, Y, Z)`` and optionally
    ``label`` (lesion mask), ``case_id`` and ``kind``. The output (``engine.state.output``) holds, as numpy:

    - ``maps``: ``{method: (X, Y, Z) float32}``, median-filtered and zero outside the evaluation region, then
      the ``derived`` methods' maps computed from them (``{name: fitted derived method}``, set by calibration);
    - ``region``: the (eroded) brain mask, ``(X, Y, Z)`` bool; ``label``: ``(X, Y, Z)`` uint8 or None;
    - ``image``: the normalised first channel; ``brain_mask``: ``(X, Y, Z)`` bool or None; ``case_id``, ``kind``,
      ``source`` (the image file) and ``affine`` (4x4 RAS) of the grid all these arrays are on (the model's);
    - ``input_grid``: ``(affine, shape)`` of the scan file's own grid, where maps are written back, or None.

    Handlers (:class:`medmonai.handlers.MapWriter`, the collectors of
    :class:`medmonai.engines.AnomalyEvaluation`) consume it; nothing is decollated.

    Args:
        device: where the networks run.
        val_data_loader: volumes, batch size 1.
        mappers: ``{method name: SlidingWindowMapper}``.
        postprocessor: the map post-processing shared by all methods.
        **kwargs: as for MONAI's ``Evaluator`` (e.g. ``val_handlers``).

    Raises:
        ConfigError: the loader's batch size is not 1.
    """

    def __init__(
        self,
        device: torch.device | str,
        val_data_loader: DataLoader,
        mappers: Mapping[str, SlidingWindowMapper],
        postprocessor: MapPostprocessor,
        **kwargs: Any,
    ) -> None:
        if getattr(val_data_loader, "batch_size", 1) not in (1, None):
            raise ConfigError(f"AnomalyMapEvaluator needs batch_size 1, got {val_data_loader.batch_size}")
        super().__init__(device=device, val_data_loader=val_data_loader, decollate=False, **kwargs)
        self.mappers = dict(mappers)
        self.postprocessor = postprocessor
        self.derived: dict[str, DerivedMethod] = {}  # fitted on healthy volumes by AnomalyEvaluation

    def _iteration(self, engine: AnomalyMapEvaluator, batchdata: dict[str, Any]) -> dict:
        image = batchdata[Keys.IMAGE]
        meta = getattr(image, "meta", {}) or {}
        source = str(_first(meta.get("filename_or_obj", "volume")))
        affine = meta.get("affine")
        region = engine.postprocessor.mask(_plain(batchdata[Keys.BRAIN_MASK]))
        volume = image.to(engine.state.device)
        raw = {name: mapper(volume, source)[0, 0].cpu().numpy() for name, mapper in engine.mappers.items()}
        # scipy's median filter releases the GIL, so the methods' maps are post-processed side by side
        with ThreadPoolExecutor(max_workers=min(len(raw), os.cpu_count() or 1) or 1) as pool:
            maps = dict(zip(raw, pool.map(lambda m: engine.postprocessor(m, region), raw.values()), strict=True))
        volume_affine = None if affine is None else np.asarray(affine, np.float64).reshape(-1, 4, 4)[0]
        for name, method in engine.derived.items():
            maps[name] = np.where(region, method(maps, volume_affine), 0.0).astype(np.float32)
        label = batchdata.get(Keys.LABEL)
        mask = batchdata.get(Keys.BRAIN_MASK)
        engine.state.output = {
            "maps": maps,
            "region": region,
            Keys.LABEL: None if label is None else _plain(label).astype(np.uint8),
            Keys.IMAGE: _plain(image),
            "case_id": str(_first(batchdata.get("case_id", "case"))),
            "kind": str(_first(batchdata.get("kind", ""))),
            "group": str(_first(batchdata.get("group", ""))),
            "source": source,
            "affine": volume_affine,
            "input_grid": _input_grid(meta),
            Keys.BRAIN_MASK: None if mask is None else _plain(mask) > 0,
        }
        engine.fire_event(IterationEvents.MODEL_COMPLETED)
        return engine.state.output
