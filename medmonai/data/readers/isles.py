"""Reader for the ISLES 2015 SISS training layout.

Layout::

    SISS2015_Training/<case>/VSD.Brain.XX.O.MR_<Mod>.<id>/VSD.Brain.XX.O.MR_<Mod>.<id>.(nii|nii.gz|mha)
    SISS2015_Training/<case>/VSD.Brain_3more.XX.O.OT.<id>/VSD.Brain_3more.XX.O.OT.<id>.(nii|nii.gz|mha)

``<Mod>`` is ``DWI``, ``Flair``, ``T1`` or ``T2``; the lesion mask's folder name contains ``.OT.``. Headers are
read with SimpleITK (no voxel data), and every case is checked: each requested modality and the mask exist, are
3-D, and agree in size, spacing and direction.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from pathlib import Path

from medmonai.data.io import ImageHeader, check_same_grid, read_header
from medmonai.errors import ConfigError, DataError
from medmonai.keys import Keys

__all__ = ["ISLES_MODALITIES", "isles_datalist", "read_header", "ImageHeader"]

logger = logging.getLogger(__name__)

ISLES_MODALITIES = {"dwi": "DWI", "flair": "Flair", "t1": "T1", "t2": "T2"}
_IMAGE_SUFFIXES = (".nii.gz", ".nii", ".mha")
_MODALITY_FOLDER = re.compile(r"\.MR_([A-Za-z0-9]+)\.", re.IGNORECASE)
_LAYOUT = (
    "expected <case>/VSD.Brain.XX.O.MR_<DWI|Flair|T1|T2>.<id>/<same name>.(nii|nii.gz|mha) and a *.OT.* mask folder"
)


def _image_in(folder: Path) -> Path | None:
    files = sorted(p for p in folder.iterdir() if p.is_file() and p.name.lower().endswith(_IMAGE_SUFFIXES))
    return files[0] if files else None


def _case_files(case_dir: Path) -> tuple[dict[str, Path], Path | None]:
    modalities: dict[str, Path] = {}
    mask = None
    for folder in sorted(p for p in case_dir.iterdir() if p.is_dir()):
        image = _image_in(folder)
        if ".OT." in folder.name:
            mask = image
            continue
        match = _MODALITY_FOLDER.search(folder.name)
        if match and image is not None:
            modalities[match.group(1).lower()] = image
    return modalities, mask


def _check_case(case_dir: Path, modalities: Sequence[str]) -> dict:
    found, mask = _case_files(case_dir)
    missing = [m for m in modalities if m not in found]
    if missing:
        names = ", ".join(f"MR_{ISLES_MODALITIES[m]}" for m in missing)
        raise DataError(f"{case_dir}: no {names} image; {_LAYOUT}")
    if mask is None:
        raise DataError(f"{case_dir}: no lesion mask (a folder whose name contains '.OT.'); {_LAYOUT}")
    check_same_grid([read_header(found[m]) for m in modalities] + [read_header(mask)])
    item = {m: str(found[m]) for m in modalities}
    item[Keys.LABEL] = str(mask)
    item["case_id"] = case_dir.name
    return item


def isles_datalist(
    dataset_dir: str | Path, modalities: Sequence[str] = ("dwi",), skip_invalid_cases: bool = False
) -> list[dict]:
    """Index an ISLES 2015 SISS training folder into a MONAI datalist, one validated dict per case.

    Args:
        dataset_dir: the ``SISS2015_Training`` folder (one subfolder per case).
        modalities: any of ``"dwi"``, ``"flair"``, ``"t1"``, ``"t2"``. Defaults to ``("dwi",)``.
        skip_invalid_cases: log and skip a case that fails validation instead of raising. Defaults to False.

    Returns:
        ``[{"case_id": str, "<modality>": path, ..., "label": mask path}, ...]`` sorted by case id (numerically
        when ids are numbers).

    Raises:
        DataError: the folder is missing or holds no case, or a case is invalid (unless skipped).
        ConfigError: an unknown modality name.
    """
    root = Path(dataset_dir).expanduser()
    unknown = [m for m in modalities if m not in ISLES_MODALITIES]
    if unknown or not modalities:
        raise ConfigError(f"modalities must be a non-empty subset of {list(ISLES_MODALITIES)}, got {list(modalities)}")
    if not root.is_dir():
        raise DataError(f"dataset_dir {root} does not exist or is not a folder")
    cases = sorted((p for p in root.iterdir() if p.is_dir()), key=lambda p: (not p.name.isdigit(), _number(p.name)))
    if not cases:
        raise DataError(f"{root}: no case folders; {_LAYOUT}")
    datalist, skipped = [], 0
    for case_dir in cases:
        try:
            datalist.append(_check_case(case_dir, modalities))
        except DataError as e:
            if not skip_invalid_cases:
                raise
            skipped += 1
            logger.warning(f"skipping case: {e}")
    if skipped:
        logger.warning(f"skipped {skipped} of {len(cases)} ISLES cases in {root}")
    if not datalist:
        raise DataError(f"{root}: every case was invalid; {_LAYOUT}")
    logger.info(f"ISLES {root}: {len(datalist)} cases with {', '.join(modalities)} and lesion masks")
    return datalist


def _number(name: str) -> int | str:
    return int(name) if name.isdigit() else name
