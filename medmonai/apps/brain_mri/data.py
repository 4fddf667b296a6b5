"""Healthy training/validation volumes and lesion test volumes for brain-MRI anomaly mapping, from any source.

Sources, in order of precedence per split:

- ``<split>_datalist``: a decathlon-style JSON (list or ``{"<section>": [...]}``) or a CSV with a header, of
  ``image[,brain_mask]`` (training, validation) or ``image,label[,brain_mask]`` (test) paths;
- ``isles_dir`` (test only): an ISLES 2015 SISS training folder, read by :func:`medmonai.data.isles_datalist`
  (the chosen modality is the image, the ``.OT.`` mask the label; the brain mask is the nonzero region);
- ``datalist``: one JSON with ``training``, ``validation`` and ``test`` sections;
- otherwise the embedded MNI152-based population (:func:`medmonai.data.synthetic.embedded_brains`).

Every case's headers are checked up front (:func:`medmonai.data.readers.brain.check_cases`), so bad input fails
before any output is written. Skull-on volumes get their brain masks here
(:func:`medmonai.transforms.add_brain_masks`), which is why these datalists are built above both the data and the
transforms.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

from medmonai.data.readers.brain import check_cases
from medmonai.data.readers.isles import isles_datalist
from medmonai.data.readers.manifests import read_datalist
from medmonai.data.readers.scans import scan_datalist
from medmonai.data.synthetic.embedded_brains import embedded_brains
from medmonai.errors import DataError
from medmonai.keys import Keys
from medmonai.transforms.brain.masks import add_brain_masks
from medmonai.utils.flags import as_flag

__all__ = ["brain_mri_datalists"]

logger = logging.getLogger(__name__)
_SECTIONS = {"train": "training", "val": "validation", "test": "test"}


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
        brain_extraction: give volumes without a ``brain_mask`` one (:func:`medmonai.transforms.add_brain_masks`,
            cached), instead of using their nonzero region: for skull-on heads. Defaults to False.
        scans_dir: new scans to map, a folder (:func:`medmonai.data.readers.scans.scan_folder`); given this or
            ``scans_datalist``, only ``{"scans": [...]}`` is returned and nothing else is read. Defaults to "".
        scans_datalist: new scans as a CSV/JSON of ``image`` (and optional ``brain_mask``). Defaults to "".
        pixdim: the voxel size (mm) the volumes are resampled to before mapping; given, volumes with slices over
            7 mm are refused and ``roi_size`` is checked on that grid. Defaults to None (volumes as stored).
        brain_extractor: ``network`` or ``registration`` (see :func:`medmonai.transforms.add_brain_masks`). Defaults to
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
        return check_cases(items, affine_tolerance, None)

    if scans_dir or scans_datalist:
        failed: list[dict] = []
        scans = masks(check_cases(scan_datalist(scans_dir, scans_datalist), affine_tolerance, roi_size, pixdim), failed)
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
        out[split] = masks(check_cases(items, affine_tolerance, roi_size, pixdim))
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
