"""Brain-MRI cases: their names and the checks every case's files pass before anything is written.

A case's image, brain mask and lesion label must be 3-D, readable and on one voxel grid; a brain mask must hold
brain and a label only the documented values; slices may be at most ``MAX_SLICE_MM`` thick and the volume at least
as large as the model's window. The bundle's datalists (:func:`medmonai.apps.brain_mri.brain_mri_datalists`) run
these checks on every case up front, so bad input fails before any output is written.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import nibabel as nib
import numpy as np

from medmonai.data.io import VOLUME_SUFFIXES, ImageHeader, check_same_grid, load_volume, read_header
from medmonai.data.readers.manifests import PATH_KEYS
from medmonai.errors import DataError
from medmonai.keys import Keys

__all__ = ["LABEL_VALUES", "MAX_SLICE_MM", "case_name", "check_cases", "model_grid_size", "raise_for_failed"]


def case_name(item: dict) -> str:
    """A case's name: its ``case_id``, else the image file name without extension."""
    if item.get("case_id"):
        return str(item["case_id"])
    name = Path(item[Keys.IMAGE]).name
    for suffix in VOLUME_SUFFIXES:
        if name.lower().endswith(suffix):
            return name[: -len(suffix)]
    return Path(name).stem


LABEL_VALUES = frozenset(range(5))  # 0 background; 1, or a lesion kind 1-4 (the embedded data's coding)


def _check_masks(item: dict) -> None:
    """A brain mask must hold brain; a lesion label only the documented values."""
    if item.get(Keys.BRAIN_MASK):
        mask = load_volume(item[Keys.BRAIN_MASK])
        if not bool((mask > 0).any()):
            raise DataError(f"{item[Keys.BRAIN_MASK]}: brain mask is empty (all zeros)")
    if item.get(Keys.LABEL):
        values = {float(v) for v in np.unique(np.asarray(load_volume(item[Keys.LABEL])))}
        if not values <= LABEL_VALUES:
            shown = sorted(v for v in values if v not in LABEL_VALUES)[:5]
            raise DataError(f"{item[Keys.LABEL]}: lesion label holds {shown}; expected 0 (background) and 1-4 (lesion)")


MAX_SLICE_MM = 7.0  # thicker slices hold too little through-plane detail to map


def model_grid_size(header: ImageHeader, pixdim: Sequence[float]) -> tuple[int, ...]:
    """The size of ``header``'s volume in RAS axis order once resampled to ``pixdim`` (mm), as preprocessing does."""
    direction = np.asarray(header.direction, np.float64).reshape(3, 3) * np.asarray(header.spacing)[None, :]
    affine = np.eye(4)
    affine[:3, :3] = np.diag([-1.0, -1.0, 1.0]) @ direction  # LPS (ITK) -> RAS
    axes = nib.io_orientation(affine)[:, 0].astype(int)
    size = [0, 0, 0]
    for n, mm, axis in zip(header.size, header.spacing, axes, strict=True):
        size[axis] = max(1, int(round(n * mm / float(pixdim[axis]))))
    return tuple(size)


def _check_fits(header: ImageHeader, roi_size: Sequence[int] | None, pixdim: Sequence[float] | None) -> None:
    """Refuse what cannot be mapped: slices over 7 mm, or a field of view smaller than the window."""
    if pixdim is not None and max(header.spacing) > MAX_SLICE_MM:
        raise DataError(
            f"{header.path}: voxels of {tuple(round(float(s), 2) for s in header.spacing)} mm; slices over "
            f"{MAX_SLICE_MM:g} mm cannot be mapped"
        )
    if roi_size is None:
        return
    size = tuple(header.size) if pixdim is None else model_grid_size(header, pixdim)
    if any(r > s for r, s in zip(roi_size, size, strict=True)):
        grid = "" if pixdim is None else f" after resampling to {tuple(float(p) for p in pixdim)} mm"
        raise DataError(
            f"{header.path}: roi_size {tuple(roi_size)} is larger than the volume {size}{grid}; the field of view "
            "is smaller than the window (windows are never padded past the volume), so lower roi_size"
        )


def check_cases(
    items: list[dict], atol: float, roi_size: Sequence[int] | None, pixdim: Sequence[float] | None = None
) -> list[dict]:
    """Check every case's files up front and name it: the items, each with its ``case_id`` set.

    Args:
        items: datalist items with ``image`` and optional ``brain_mask`` and ``label`` paths.
        atol: largest allowed difference in spacing/origin (mm) and direction between a case's files.
        roi_size: if given, every volume must be at least this large, on the ``pixdim`` grid when that is given.
        pixdim: the voxel size (mm) the volumes are resampled to; given, slices over ``MAX_SLICE_MM`` are refused.
            Defaults to None (volumes as stored).

    Raises:
        DataError: a file is unreadable or not 3-D, a case's files differ in size or affine, a brain mask is empty,
            a label holds other values than ``LABEL_VALUES``, or a volume has too thick slices or is too small.
    """
    for item in items:
        headers = [read_header(item[k]) for k in PATH_KEYS if item.get(k)]
        check_same_grid(headers, atol=atol)
        _check_masks(item)
        _check_fits(headers[0], roi_size, pixdim)
        item["case_id"] = case_name(item)
    return items


def raise_for_failed(datalists: dict[str, list[dict]]) -> None:
    """After the other scans are mapped, end with a non-zero exit when some could not be (their rows say why).

    Raises:
        DataError: naming the scans under ``datalists["failed"]``.
    """
    failed = datalists.get("failed") or []
    if failed:
        names = ", ".join(str(item.get("case_id", item.get(Keys.IMAGE))) for item in failed)
        raise DataError(
            f"{len(failed)} of {len(failed) + len(datalists.get('scans', []))} scans could not be mapped ({names}); "
            "the others were, and cases.csv gives each failure's reason"
        )
