"""Healthy training/validation volumes and lesion test volumes for brain-MRI anomaly mapping, from any source.

Sources, in order of precedence per split:

- ``<split>_datalist``: a decathlon-style JSON (list or ``{"<section>": [...]}``) or a CSV with a header, of
  ``image[,brain_mask]`` (training, validation) or ``image,label[,brain_mask]`` (test) paths;
- ``isles_dir`` (test only): an ISLES 2015 SISS training folder, read by :func:`medmonai.data.isles_datalist`
  (the chosen modality is the image, the ``.OT.`` mask the label; the brain mask is the nonzero region);
- ``datalist``: one JSON with ``training``, ``validation`` and ``test`` sections;
- otherwise the embedded MNI152-based population (:func:`medmonai.data.synthetic.embedded_brains`).

Every case's headers are checked up front (3-D, readable, image/mask/label on one voxel grid), so bad input
fails before any output is written.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import nibabel as nib
import numpy as np

from medmonai.data.io import VOLUME_SUFFIXES, ImageHeader, check_same_grid, load_volume, read_header
from medmonai.data.readers.brain_masks import add_brain_masks
from medmonai.data.readers.isles import isles_datalist
from medmonai.data.readers.manifests import PATH_KEYS, read_datalist
from medmonai.data.readers.scans import scan_datalist
from medmonai.data.synthetic.embedded_brains import embedded_brains
from medmonai.errors import DataError
from medmonai.keys import Keys
from medmonai.utils.flags import as_flag

__all__ = ["MAX_SLICE_MM", "brain_mri_datalists", "case_name", "model_grid_size", "raise_for_failed"]

logger = logging.getLogger(__name__)
_SECTIONS = {"train": "training", "val": "validation", "test": "test"}


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


def _check_geometry(
    items: list[dict], atol: float, roi_size: Sequence[int] | None, pixdim: Sequence[float] | None = None
) -> list[dict]:
    for item in items:
        headers = [read_header(item[k]) for k in PATH_KEYS if item.get(k)]
        check_same_grid(headers, atol=atol)
        _check_masks(item)
        _check_fits(headers[0], roi_size, pixdim)
        item["case_id"] = case_name(item)
    return items


def _isles_test(isles_dir: str, modality: str) -> list[dict]:
    cases = isles_datalist(isles_dir, modalities=(modality,))
    return [{Keys.IMAGE: c[modality], Keys.LABEL: c[Keys.LABEL], "case_id": f"isles_{c['case_id']}"} for c in cases]


def brain_mri_datalists(
    datalist: str = "",
    train_datalist: str = "",
    val_datalist: str = "",
    test_datalist: str = "",
    isles_dir: str = "",
    isles_modality: str = "dwi",
    affine_tolerance: float = 1e-3,
    roi_size: Sequence[int] | None = None,
    embedded: dict | None = None,
    brain_extraction: bool | str = False,
    scans_dir: str = "",
    scans_datalist: str = "",
    pixdim: Sequence[float] | None = None,
    brain_extractor: str = "network",
    device: str = "cpu",
) -> dict[str, list[dict]]:
    """Build the ``train``, ``val`` and ``test`` datalists, validating every case's headers.

    Args:
        datalist: one JSON with ``training``, ``validation`` and ``test`` sections. Defaults to "" (unused).
        train_datalist: healthy training volumes (JSON or CSV). Defaults to "".
        val_datalist: healthy validation volumes for threshold calibration (JSON or CSV). Defaults to "".
        test_datalist: test volumes with lesion masks under ``label`` (JSON or CSV). Defaults to "".
        isles_dir: ISLES 2015 SISS folder used as the test source when ``test_datalist`` is empty. Defaults to "".
        isles_modality: ISLES modality used as the image: dwi, flair, t1 or t2. Defaults to "dwi".
        affine_tolerance: largest allowed difference in spacing/origin (mm) and direction between a case's image,
            mask and label. Defaults to 1e-3.
        roi_size: if given, every volume must be at least this large (the sliding window and training patches
            never pad past a volume), on the ``pixdim`` grid when that is given. Defaults to None.
        embedded: keyword arguments of :func:`medmonai.data.synthetic.embedded_brains`, used when a split has no other
            source. Defaults to None (its defaults).
        brain_extraction: give volumes without a ``brain_mask`` one (:func:`medmonai.data.add_brain_masks`,
            cached), instead of using their nonzero region: for skull-on heads. Defaults to False.
        scans_dir: new scans to map, a folder (:func:`medmonai.data.readers.scans.scan_folder`); given this or
            ``scans_datalist``, only ``{"scans": [...]}`` is returned and nothing else is read. Defaults to "".
        scans_datalist: new scans as a CSV/JSON of ``image`` (and optional ``brain_mask``). Defaults to "".
        pixdim: the voxel size (mm) the volumes are resampled to before mapping; given, volumes with slices over
            7 mm are refused and ``roi_size`` is checked on that grid. Defaults to None (volumes as stored).
        brain_extractor: ``network`` or ``registration`` (see :func:`medmonai.data.add_brain_masks`). Defaults to
            "network".
        device: where the brain-extraction network runs. Defaults to "cpu".

    Returns:
        ``{"train": [...], "val": [...], "test": [...]}`` (or ``{"scans": [...], "failed": [...]}``, where a new scan
        whose brain extraction failed is listed under ``failed`` with its ``reason`` and the others are mapped);
        items hold absolute paths and a ``case_id``.

    Raises:
        DataError: a manifest is missing, empty or malformed, a listed file is missing or unreadable or not 3-D,
            a case's files differ in size or affine, a volume has slices over 7 mm or is smaller than ``roi_size``,
            or (with ``brain_extraction``) a training, validation or test volume's extraction failed, or every new
            scan's did.
    """
    extract = as_flag(brain_extraction, "brain_extraction")
    cache_dir = (embedded or {}).get("cache_dir")

    def masks(items: list[dict], failures: list[dict] | None = None) -> list[dict]:
        if not extract:
            return items
        items = add_brain_masks(items, cache_dir, method=brain_extractor, failures=failures, device=str(device))
        return _check_geometry(items, affine_tolerance, None)

    if scans_dir or scans_datalist:
        failed: list[dict] = []
        scans = masks(
            _check_geometry(scan_datalist(scans_dir, scans_datalist), affine_tolerance, roi_size, pixdim), failed
        )
        if not scans:
            raise DataError(f"brain extraction failed on every scan: {failed[0]['reason']}")
        logger.info(
            f"new scans: {len(scans)}" + (f", {len(failed)} without a brain mask (see cases.csv)" if failed else "")
        )
        return {"scans": scans, "failed": failed}
    explicit = {"train": train_datalist, "val": val_datalist, "test": test_datalist}
    required = {"train": (Keys.IMAGE,), "val": (Keys.IMAGE,), "test": (Keys.IMAGE, Keys.LABEL)}
    fallback = datalist
    if not datalist and any(not explicit[s] and not (s == "test" and isles_dir) for s in _SECTIONS):
        fallback = embedded_brains(**(embedded or {}))
        logger.info(f"embedded brain population: {fallback.parent}")
    out = {}
    for split, section in _SECTIONS.items():
        if explicit[split]:
            items = read_datalist(explicit[split], section=section, required_keys=required[split])
        elif split == "test" and isles_dir:
            items = _isles_test(isles_dir, isles_modality)
        else:
            items = read_datalist(fallback, section=section, required_keys=required[split])
        out[split] = masks(_check_geometry(items, affine_tolerance, roi_size, pixdim))
    _check_disjoint(out)
    logger.info(f"brain MRI volumes: {', '.join(f'{len(v)} {k}' for k, v in out.items())}")
    return out


def _check_disjoint(splits: dict[str, list[dict]]) -> None:
    """No volume may be in two splits: a training volume in the test set inflates every metric."""
    seen: dict[str, str] = {}
    for split, items in splits.items():
        for item in items:
            image = str(Path(item[Keys.IMAGE]).resolve())
            if image in seen and seen[image] != split:
                raise DataError(
                    f"{item[Keys.IMAGE]}: in both the {seen[image]} and {split} splits; splits must not overlap"
                )
            seen.setdefault(image, split)


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
