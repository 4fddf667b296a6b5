"""NIH ChestX-ray14: ``Data_Entry_2017.csv`` and the PNGs of its ``images*`` folders, as a cohort manifest."""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path

import numpy as np

from medmonai.data.io import read_manifest_table
from medmonai.data.readers.chest_xray.coding import (
    SEX_CODES,
    VIEW_CODES,
    age_years,
    coded,
    cohort_manifest,
    covariate_name,
    require_columns,
)
from medmonai.data.readers.cohort import ROW_CONVENTION, CohortManifest, file_rows_text, to_float64
from medmonai.errors import ConfigError, DataError

try:  # the optional "population" extra; CohortManifest names the install command when it is missing
    import pyarrow as pa
    import pyarrow.compute as pc
except ImportError:  # pragma: no cover - exercised only where pyarrow is absent
    pa = None

__all__ = ["NIH_FINDINGS", "chestxray14_manifest"]

logger = logging.getLogger(__name__)

NIH_ENTRY_FILES = ("Data_Entry_2017.csv", "Data_Entry_2017_v2020.csv")
NIH_FINDINGS = (
    "Atelectasis",
    "Cardiomegaly",
    "Effusion",
    "Infiltration",
    "Mass",
    "Nodule",
    "Pneumonia",
    "Pneumothorax",
    "Consolidation",
    "Edema",
    "Emphysema",
    "Fibrosis",
    "Pleural_Thickening",
    "Hernia",
)
NIH_NO_FINDING = "No Finding"
_NIH_LAYOUT = "expected Data_Entry_2017.csv beside images/*.png, images_NNN/images/*.png or images_NNN/*.png"
_NIH_SIZE_COLUMNS = {  # the header's "OriginalImage[Width,Height]" is split in two by its own comma
    "OriginalImage[Width": "original_width",
    "Height]": "original_height",
    "OriginalImagePixelSpacing[x": "pixel_spacing_x",
    "y]": "pixel_spacing_y",
}


def _nih_image_dirs(root: Path) -> dict[str, str]:
    """File name -> folder (relative to ``root``) of every PNG in the NIH image folders; the first copy wins."""
    folders = [root / "images"]
    for part in sorted(root.glob("images_*")):
        folders += [part / "images", part]
    found: dict[str, str] = {}
    for folder in folders:
        if not folder.is_dir():
            continue
        relative = folder.relative_to(root).as_posix()
        with os.scandir(folder) as entries:
            for entry in entries:
                if entry.name.lower().endswith(".png"):
                    found.setdefault(entry.name, relative)
    return found


def _nih_findings(labels: pa.ChunkedArray, source: Path) -> dict[str, np.ndarray]:
    """One 0/1 column per ChestX-ray14 finding (and ``no_finding``) from the ``|``-separated labels."""
    known = (*NIH_FINDINGS, NIH_NO_FINDING)
    parts = pc.utf8_trim_whitespace(pc.list_flatten(pc.split_pattern(labels, "|")))
    unknown = pc.unique(parts.filter(pc.invert(pc.is_in(parts, value_set=pa.array(known))))).to_pylist()
    flags = {}
    for label in (*unknown[:1], *known):
        pattern = rf"(^|\|)\s*{re.escape(label)}\s*(\||$)"
        flags[label] = pc.fill_null(pc.match_substring_regex(labels, pattern), False)
    if unknown:
        i = int(pc.indices_nonzero(flags[unknown[0]])[0].as_py())
        raise DataError(
            f"{source}: column 'Finding Labels', {file_rows_text([i])}: {unknown[0]!r} is not a ChestX-ray14 finding "
            f"(known: {', '.join(known)}; {ROW_CONVENTION})"
        )
    return {covariate_name(label): to_float64(flags[label], source, label) for label in known}


def _nih_entries(root: Path) -> tuple[Path, pa.Table]:
    if not root.is_dir():
        raise DataError(f"{root}: ChestX-ray14 folder not found; {_NIH_LAYOUT}")
    entries = next((root / name for name in NIH_ENTRY_FILES if (root / name).is_file()), None)
    if entries is None:
        found = sorted(p.name for p in root.iterdir())[:20]
        raise DataError(f"{root}: no Data_Entry_2017.csv; {_NIH_LAYOUT}; found {found}")
    text_columns = ["Image Index", "Finding Labels", "Patient ID", "Patient Age", "Patient Gender", "Patient Sex"]
    table = read_manifest_table(entries, [*text_columns, "View Position"])
    sex = "Patient Gender" if "Patient Gender" in table.column_names else "Patient Sex"  # both spellings exist
    needed = ["Image Index", "Finding Labels", "Follow-up #", "Patient ID", "Patient Age", sex, "View Position"]
    require_columns(table, entries, needed, "expected the ChestX-ray14 Data_Entry_2017.csv header")
    if table.num_rows == 0:
        raise DataError(f"{entries}: lists no images")
    return entries, table.rename_columns(["Patient Gender" if c == sex else c for c in table.column_names])


def chestxray14_manifest(
    root: str | Path, one_per_subject: bool = True, missing_images: str = "drop"
) -> CohortManifest:
    """Index an NIH ChestX-ray14 folder: ``Data_Entry_2017.csv`` and the PNGs of its ``images*`` folders.

    The PNGs may sit in ``images/``, ``images_001/images/`` ... ``images_012/images/`` (the archives as
    extracted) or ``images_NNN/`` directly. Covariates: ``age`` (years; ``058Y`` is read too), ``sex`` (M 0, F 1),
    ``view`` (PA 0, AP 1), ``follow_up``, one 0/1 column per finding (``atelectasis`` ... ``hernia`` and
    ``no_finding``) and, when present, ``original_width``, ``original_height``, ``pixel_spacing_x`` and
    ``pixel_spacing_y``; text columns ``image_id`` (the PNG name) and ``patient``.

    Args:
        root: the folder holding ``Data_Entry_2017.csv`` (or ``Data_Entry_2017_v2020.csv``).
        one_per_subject: keep the first image (in file order) of each patient, keyed by the patient id; False
            keeps every image, keyed by its name without ``.png``. Defaults to True.
        missing_images: ``"drop"`` skips (and logs) rows whose PNG is in no image folder, as when only some
            archives were downloaded; ``"error"`` refuses them. Defaults to ``"drop"``.

    Returns:
        A manifest of 2-D images whose image paths are relative to ``root``; errors name the CSV and its rows.

    Raises:
        ConfigError: ``missing_images`` is neither ``"drop"`` nor ``"error"``.
        DataError: the folder or CSV is missing, the CSV lacks a column, holds an unknown finding or a bad age,
            sex or view, or no listed image is on disk (or one is missing, with ``missing_images="error"``).
    """
    if missing_images not in ("drop", "error"):
        raise ConfigError(f"missing_images must be 'drop' or 'error', got {missing_images!r}")
    root = Path(root).expanduser()
    entries, table = _nih_entries(root)
    names = pc.utf8_trim_whitespace(table["Image Index"])
    on_disk = _nih_image_dirs(root)
    where = pc.index_in(names, value_set=pa.array(list(on_disk), pa.string()))
    folders = pa.array(list(on_disk.values()), pa.string()).take(where)
    found = np.asarray(pc.is_valid(where).to_numpy(zero_copy_only=False), bool)
    if not found.all():
        absent = np.flatnonzero(~found)
        first = f"{names[int(absent[0])].as_py()} ({file_rows_text(absent[:1])})"
        if missing_images == "error" or found.sum() == 0:
            raise DataError(
                f"{entries}: {len(absent)} of {len(found)} listed images are in no image folder, first {first}; "
                f"{_NIH_LAYOUT}"
            )
        logger.warning(f"{entries}: {len(absent)} of {len(found)} listed images not on disk (first {first}); skipped")
    patient = pc.utf8_trim_whitespace(table["Patient ID"])
    columns = {
        "subject_id": patient if one_per_subject else pc.replace_substring_regex(names, r"\.png$", ""),
        "image": pc.binary_join_element_wise(folders, names, "/"),
        "image_id": names,
        "patient": patient,
        "age": age_years(table["Patient Age"], entries, "Patient Age"),
        "sex": coded(table["Patient Gender"], SEX_CODES, entries, "Patient Gender"),
        "view": coded(table["View Position"], VIEW_CODES, entries, "View Position"),
        "follow_up": to_float64(table["Follow-up #"], entries, "Follow-up #"),
        **_nih_findings(pc.utf8_trim_whitespace(table["Finding Labels"]), entries),
    }
    for name, covariate in _NIH_SIZE_COLUMNS.items():
        if name in table.column_names:
            columns[covariate] = to_float64(table[name], entries, name)
    return cohort_manifest(columns, entries, root, np.flatnonzero(found), one_per_subject, spatial_dims=2)
