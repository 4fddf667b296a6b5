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

import numpy as np

from medmonai.data.io import VOLUME_SUFFIXES, check_same_grid, load_volume, read_header
from medmonai.data.readers.brain_masks import add_brain_masks
from medmonai.data.readers.isles import isles_datalist
from medmonai.data.readers.manifests import PATH_KEYS, read_datalist
from medmonai.data.readers.scans import scan_datalist
from medmonai.data.synthetic.embedded_brains import embedded_brains
from medmonai.errors import DataError
from medmonai.keys import Keys
from medmonai.utils.flags import as_flag

__all__ = ["brain_mri_datalists", "case_name"]

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


def _check_geometry(items: list[dict], atol: float, roi_size: Sequence[int] | None) -> list[dict]:
    for item in items:
        headers = [read_header(item[k]) for k in PATH_KEYS if item.get(k)]
        check_same_grid(headers, atol=atol)
        _check_masks(item)
        if roi_size is not None and any(r > s for r, s in zip(roi_size, headers[0].size, strict=True)):
            raise DataError(
                f"{headers[0].path}: roi_size {tuple(roi_size)} is larger than the volume {headers[0].size}; "
                "windows are never padded past the volume, so lower roi_size"
            )
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
            never pad past a volume). Defaults to None.
        embedded: keyword arguments of :func:`medmonai.data.synthetic.embedded_brains`, used when a split has no other
            source. Defaults to None (its defaults).
        brain_extraction: give volumes without a ``brain_mask`` one by template registration
            (:func:`medmonai.data.add_brain_masks`, cached), instead of using their nonzero region: for skull-on
            heads. Defaults to False.
        scans_dir: new scans to map, a folder (:func:`medmonai.data.readers.scans.scan_folder`); given this or
            ``scans_datalist``, only ``{"scans": [...]}`` is returned and nothing else is read. Defaults to "".
        scans_datalist: new scans as a CSV/JSON of ``image`` (and optional ``brain_mask``). Defaults to "".

    Returns:
        ``{"train": [...], "val": [...], "test": [...]}`` (or ``{"scans": [...]}``); items hold absolute paths and a
        ``case_id``.

    Raises:
        DataError: a manifest is missing, empty or malformed, a listed file is missing or unreadable or not 3-D,
            a case's files differ in size or affine, a volume is smaller than ``roi_size``, or (with
            ``brain_extraction``) a volume is too small to register or its registration diverged.
    """
    if scans_dir or scans_datalist:
        scans = _check_geometry(scan_datalist(scans_dir, scans_datalist), affine_tolerance, roi_size)
        if as_flag(brain_extraction, "brain_extraction"):
            scans = _check_geometry(add_brain_masks(scans, (embedded or {}).get("cache_dir")), affine_tolerance, None)
        logger.info(f"new scans: {len(scans)}")
        return {"scans": scans}
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
        out[split] = _check_geometry(items, affine_tolerance, roi_size)
        if as_flag(brain_extraction, "brain_extraction"):
            out[split] = _check_geometry(
                add_brain_masks(items, (embedded or {}).get("cache_dir")), affine_tolerance, None
            )
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
