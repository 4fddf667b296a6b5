"""Chest X-ray cohorts as :class:`CohortManifest` tables: NIH ChestX-ray14, CheXpert, and folders of DICOM files.

Each reader keeps one image per subject by default (the first in file order), so subject ids stay unique and
splits by subject hold; ``one_per_subject=False`` keys every image on its own id instead and keeps the subject in
a ``patient`` column (split on that column then). Covariates are numeric: ``sex`` is 0 male / 1 female, ``view``
0 PA / 1 AP, ``age`` in years; anything else (unknown sex, a lateral view) is NaN.

**CheXpert labels.** Each observation is 1 (positive), 0 (negative), -1 (uncertain) or blank (not mentioned in
the report). By default both uncertain and blank become NaN: the report does not say, so neither is counted as a
negative; ``uncertain="zeros"``/``"ones"`` (the U-Zeros and U-Ones policies of the CheXpert paper) and
``blank="zeros"`` (not mentioned = absent) are the common alternatives.
"""

from __future__ import annotations

import logging
import os
import re
import warnings
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from medmonai.data.readers.cohort import (
    ROW_CONVENTION,
    CohortManifest,
    file_rows_text,
    read_manifest_table,
    require_pyarrow,
    to_float64,
)
from medmonai.errors import ConfigError, DataError, reason

try:  # the optional "population" extra; CohortManifest names the install command when it is missing
    import pyarrow as pa
    import pyarrow.compute as pc
except ImportError:  # pragma: no cover - exercised only where pyarrow is absent
    pa = None

__all__ = [
    "CHEXPERT_OBSERVATIONS",
    "NIH_FINDINGS",
    "chestxray14_manifest",
    "chexpert_manifest",
    "covariate_name",
    "dicom_manifest",
]

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
CHEXPERT_OBSERVATIONS = (
    "No Finding",
    "Enlarged Cardiomediastinum",
    "Cardiomegaly",
    "Lung Opacity",
    "Lung Lesion",
    "Edema",
    "Consolidation",
    "Pneumonia",
    "Atelectasis",
    "Pneumothorax",
    "Pleural Effusion",
    "Pleural Other",
    "Fracture",
    "Support Devices",
)
_NIH_LAYOUT = "expected Data_Entry_2017.csv beside images/*.png, images_NNN/images/*.png or images_NNN/*.png"
_NIH_SIZE_COLUMNS = {  # the header's "OriginalImage[Width,Height]" is split in two by its own comma
    "OriginalImage[Width": "original_width",
    "Height]": "original_height",
    "OriginalImagePixelSpacing[x": "pixel_spacing_x",
    "y]": "pixel_spacing_y",
}
_AGE = r"^(?P<value>\d+(?:\.\d+)?)\s*(?P<unit>[YyMmWwDd]?)$"  # 58, or DICOM's age string: 058Y, 003M, 010W, 012D
_AGE_UNIT_YEARS = {"": 1.0, "Y": 1.0, "M": 12.0, "W": 365.25 / 7.0, "D": 365.25}
NAN = float("nan")
_SEX = {"M": 0.0, "MALE": 0.0, "F": 1.0, "FEMALE": 1.0, "O": NAN, "OTHER": NAN, "U": NAN, "UNKNOWN": NAN}
_VIEW = {"PA": 0.0, "AP": 1.0, "LL": NAN, "RL": NAN, "LATERAL": NAN}  # a lateral view has no PA/AP: NaN
_DICOM_TAGS = ["PatientID", "PatientAge", "PatientSex", "ViewPosition", "Modality", "StudyInstanceUID"]
_DICOM_TAGS += ["Rows", "Columns", "NumberOfFrames"]


def covariate_name(label: str) -> str:
    """The covariate column of a finding: ``"Pleural_Thickening"`` -> ``"pleural_thickening"``."""
    return re.sub(r"[^0-9a-z]+", "_", label.lower()).strip("_")


def _coded(
    column: pa.ChunkedArray | pa.Array, codes: Mapping[str, float], source: Path, name: str, strict: bool = True
) -> np.ndarray:
    """Text mapped through ``codes`` (case-insensitive, trimmed) to ``(n,)`` float64; empty is NaN.

    Raises:
        DataError: with ``strict``, a non-empty value outside ``codes`` (naming its row); otherwise it is NaN.
    """
    text = pc.utf8_upper(pc.utf8_trim_whitespace(pc.fill_null(pc.cast(column, pa.string()), "")))
    index = pc.index_in(text, value_set=pa.array(list(codes), pa.string()))
    unknown = pc.and_(pc.is_null(index), pc.greater(pc.utf8_length(text), 0))
    bad = pc.indices_nonzero(unknown)
    if strict and len(bad):
        i = int(bad[0].as_py())
        raise DataError(
            f"{source}: column '{name}', {file_rows_text([i])}: {text[i].as_py()!r} is not one of "
            f"{', '.join(codes)} ({ROW_CONVENTION})"
        )
    values = np.append(np.asarray(list(codes.values()), np.float64), np.nan)
    return values[np.asarray(pc.fill_null(index, len(codes)).to_numpy(zero_copy_only=False), np.int64)]


def _age_years(column: pa.ChunkedArray, source: Path, name: str) -> np.ndarray:
    """Ages as years: plain numbers, or DICOM age strings (``058Y``, ``003M``, ``010W``, ``012D``)."""
    if pa.types.is_integer(column.type) or pa.types.is_floating(column.type):
        return to_float64(column, source, name)
    text = pc.utf8_trim_whitespace(pc.cast(column, pa.string()))
    parts = pc.extract_regex(text, _AGE)
    bad = pc.and_(pc.is_null(parts), pc.greater(pc.utf8_length(text), 0))
    first = pc.indices_nonzero(pc.fill_null(bad, False))
    if len(first):
        i = int(first[0].as_py())
        raise DataError(
            f"{source}: column '{name}', {file_rows_text([i])}: {text[i].as_py()!r} is not an age "
            f"(a number of years, or e.g. 058Y/003M; {ROW_CONVENTION})"
        )
    value = to_float64(pc.struct_field(parts, "value"), source, name)
    units = pc.utf8_upper(pc.fill_null(pc.struct_field(parts, "unit"), "")).to_numpy(zero_copy_only=False)
    kinds, inverse = np.unique(np.asarray(units, dtype=str), return_inverse=True)
    return value / np.array([_AGE_UNIT_YEARS[k] for k in kinds])[inverse.reshape(-1)]


def _require_columns(table: pa.Table, source: Path, needed: Sequence[str], layout: str) -> None:
    missing = [c for c in needed if c not in table.column_names]
    if missing:
        found = ", ".join(c for c in table.column_names if c)
        raise DataError(f"{source}: no column {', '.join(map(repr, missing))} ({layout}; columns: {found})")


def _first_per_subject(subject_ids: pa.ChunkedArray | pa.Array) -> np.ndarray:
    """Sorted positions of the first row of each subject (vectorised group-by)."""
    keyed = pa.table({"subject": subject_ids, "position": pa.array(np.arange(len(subject_ids)))})
    first = keyed.group_by("subject").aggregate([("position", "min")])["position_min"]
    return np.sort(first.to_numpy())


def _manifest(
    columns: dict[str, pa.ChunkedArray | pa.Array | np.ndarray],
    source: Path,
    root: Path,
    keep: np.ndarray,
    one_per_subject: bool,
    spatial_dims: int | None,
) -> CohortManifest:
    """Keep rows ``keep`` (file positions), then the first image per subject, as a manifest of 2-D images."""
    table = pa.table({name: pa.array(v) if isinstance(v, np.ndarray) else v for name, v in columns.items()})
    table = table.take(pa.array(keep))
    if one_per_subject:
        first = _first_per_subject(table["subject_id"])
        table, keep = table.take(pa.array(first)), keep[first]
    return CohortManifest(table, source, ("image",), "subject_id", root, spatial_dims, keep)


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
    _require_columns(table, entries, needed, "expected the ChestX-ray14 Data_Entry_2017.csv header")
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
        "age": _age_years(table["Patient Age"], entries, "Patient Age"),
        "sex": _coded(table["Patient Gender"], _SEX, entries, "Patient Gender"),
        "view": _coded(table["View Position"], _VIEW, entries, "View Position"),
        "follow_up": to_float64(table["Follow-up #"], entries, "Follow-up #"),
        **_nih_findings(pc.utf8_trim_whitespace(table["Finding Labels"]), entries),
    }
    for name, covariate in _NIH_SIZE_COLUMNS.items():
        if name in table.column_names:
            columns[covariate] = to_float64(table[name], entries, name)
    return _manifest(columns, entries, root, np.flatnonzero(found), one_per_subject, spatial_dims=2)


def _chexpert_labels(column: pa.ChunkedArray, source: Path, name: str, uncertain: str, blank: str) -> np.ndarray:
    """One observation's 1/0/-1/blank as float64 under the uncertain and blank policies (see the module doc)."""
    values = to_float64(column, source, name)
    bad = np.flatnonzero(~np.isnan(values) & ~np.isin(values, (1.0, 0.0, -1.0)))
    if len(bad):
        raise DataError(
            f"{source}: column '{name}', {file_rows_text(bad[:1])}: {values[bad[0]]:g} is not 1, 0, -1 or blank "
            f"({ROW_CONVENTION})"
        )
    mapped = np.where(values == -1.0, {"nan": np.nan, "zeros": 0.0, "ones": 1.0}[uncertain], values)
    return np.where(np.isnan(values), {"nan": np.nan, "zeros": 0.0}[blank], mapped)


def _chexpert_root(csv_path: Path, first_image: str) -> Path:
    """The folder the CSV's paths are relative to: the one holding ``CheXpert-v1.0-small`` (the CSV's grandparent)."""
    candidates = [csv_path.parent.parent, csv_path.parent]
    for folder in candidates:
        if (folder / first_image).exists():
            return folder
    logger.warning(f"{csv_path}: first image {first_image} is under neither {candidates[0]} nor {candidates[1]}")
    return candidates[0]


def chexpert_manifest(
    csv_path: str | Path,
    root: str | Path | None = None,
    one_per_subject: bool = True,
    uncertain: str = "nan",
    blank: str = "nan",
) -> CohortManifest:
    """Index a CheXpert CSV (``train.csv`` or ``valid.csv`` of ``CheXpert-v1.0`` or ``CheXpert-v1.0-small``).

    ``Path`` holds e.g. ``CheXpert-v1.0-small/train/patient00001/study1/view1_frontal.jpg``; the subject is the
    ``patientNNNNN`` folder. Covariates: ``age``, ``sex`` (Male 0, Female 1, Unknown NaN), ``frontal`` (1 frontal,
    0 lateral), ``view`` (PA 0, AP 1, lateral or blank NaN), ``study`` (the N of ``studyN``) and one column per
    observation (``no_finding``, ``enlarged_cardiomediastinum``, ... ``support_devices``) under the label policies
    of the module doc; a text column ``patient``.

    Args:
        csv_path: the CheXpert CSV.
        root: the folder ``Path`` is relative to. Defaults to the one holding ``CheXpert-v1.0-small`` (the CSV's
            grandparent), or the CSV's own folder if the first image is there instead.
        one_per_subject: keep each patient's first image (in file order), keyed by the patient; False keeps every
            image, keyed ``patientNNNNN/studyN/viewN_frontal``. Defaults to True.
        uncertain: what -1 (uncertain) becomes: ``"nan"``, ``"zeros"`` or ``"ones"``. Defaults to ``"nan"``.
        blank: what a blank (not mentioned) becomes: ``"nan"`` or ``"zeros"``. Defaults to ``"nan"``.

    Returns:
        A manifest of 2-D images; errors name the CSV and its rows.

    Raises:
        ConfigError: an unknown ``uncertain`` or ``blank`` policy.
        DataError: the CSV is missing or lacks a column, a path names no ``patientNNNNN`` folder, or a label, age,
            sex or view is not one the layout allows.
    """
    if uncertain not in ("nan", "zeros", "ones") or blank not in ("nan", "zeros"):
        raise ConfigError(f"uncertain must be nan/zeros/ones and blank nan/zeros, got {uncertain!r}, {blank!r}")
    csv_path = Path(csv_path).expanduser()
    if not csv_path.is_file():
        raise DataError(f"{csv_path}: CheXpert CSV not found (expected CheXpert-v1.0-small/train.csv or valid.csv)")
    text = ["Path", "Sex", "Frontal/Lateral", "AP/PA", *CHEXPERT_OBSERVATIONS]
    table = read_manifest_table(csv_path, text)
    layout = "expected the CheXpert header Path,Sex,Age,Frontal/Lateral,AP/PA,<14 observations>"
    _require_columns(
        table, csv_path, ["Path", "Sex", "Age", "Frontal/Lateral", "AP/PA", *CHEXPERT_OBSERVATIONS], layout
    )
    if table.num_rows == 0:
        raise DataError(f"{csv_path}: lists no images")
    paths = pc.utf8_trim_whitespace(table["Path"])
    parts = pc.extract_regex(paths, r"(?P<patient>patient\d+)/(?:study(?P<study>\d+)/)?")
    unmatched = pc.indices_nonzero(pc.is_null(parts))
    if len(unmatched):
        i = int(unmatched[0].as_py())
        raise DataError(
            f"{csv_path}: column 'Path', {file_rows_text([i])}: {paths[i].as_py()!r} names no patientNNNNN folder "
            f"({ROW_CONVENTION})"
        )
    patient = pc.struct_field(parts, "patient")
    per_image = pc.replace_substring_regex(
        pc.replace_substring_regex(paths, r"^.*?(patient\d+/)", r"\1"), r"\.\w+$", ""
    )
    columns = {
        "subject_id": patient if one_per_subject else per_image,
        "image": paths,
        "patient": patient,
        "age": to_float64(table["Age"], csv_path, "Age"),
        "sex": _coded(table["Sex"], _SEX, csv_path, "Sex"),
        "frontal": _coded(table["Frontal/Lateral"], {"FRONTAL": 1.0, "LATERAL": 0.0}, csv_path, "Frontal/Lateral"),
        "view": _coded(table["AP/PA"], _VIEW, csv_path, "AP/PA"),
        "study": to_float64(pc.struct_field(parts, "study"), csv_path, "Path"),
    }
    for name in CHEXPERT_OBSERVATIONS:
        columns[covariate_name(name)] = _chexpert_labels(table[name], csv_path, name, uncertain, blank)
    root = Path(root).expanduser() if root else _chexpert_root(csv_path, paths[0].as_py())
    return _manifest(columns, csv_path, root, np.arange(table.num_rows), one_per_subject, spatial_dims=2)


def _dicom_record(path: Path) -> dict | str:
    """The header fields of one DICOM file, or why it is left out (not DICOM, no image, unreadable)."""
    import pydicom
    from pydicom.errors import InvalidDicomError

    try:
        with warnings.catch_warnings():  # real archives are full of harmless oddities pydicom warns about
            warnings.simplefilter("ignore")
            header = pydicom.dcmread(path, stop_before_pixels=True, specific_tags=_DICOM_TAGS)
    except InvalidDicomError:
        return "not DICOM"
    except Exception as e:  # truncated or damaged files raise many types
        return f"unreadable ({reason(e)})"
    if "Rows" not in header or "Columns" not in header:
        return f"no image ({header.get('Modality', 'unknown modality')})"
    return {
        "patient": str(header.get("PatientID", "") or "").strip(),
        "age": str(header.get("PatientAge", "") or ""),
        "sex": str(header.get("PatientSex", "") or ""),
        "view": str(header.get("ViewPosition", "") or ""),
        "modality": str(header.get("Modality", "") or ""),
        "study_uid": str(header.get("StudyInstanceUID", "") or ""),
        "rows": int(header.Rows),
        "columns": int(header.Columns),
        "frames": int(header.get("NumberOfFrames", 1) or 1),
    }


def _dicom_files(folder: Path) -> list[Path]:
    """Every file under ``folder``, sorted, except hidden files and DICOMDIR indexes."""
    files = []
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        files += [Path(dirpath) / f for f in sorted(filenames) if not f.startswith(".") and f.upper() != "DICOMDIR"]
    return files


def dicom_manifest(
    folder: str | Path, one_per_subject: bool = True, workers: int = 4, spatial_dims: int | None = 2
) -> CohortManifest:
    """Index a folder of DICOM files (searched recursively) by their headers; pixel data is never read.

    Files that are not DICOM or hold no image (reports, RT plans) are skipped and counted in the log. The subject
    is the ``PatientID``; covariates ``age`` (years, from ``PatientAge`` such as ``058Y``), ``sex`` (M 0, F 1,
    other NaN), ``view`` (``ViewPosition`` PA 0, AP 1, other NaN), ``rows``, ``columns`` and ``frames``; text
    columns ``modality``, ``study_uid`` and ``patient``.

    Args:
        folder: the folder.
        one_per_subject: keep each patient's first image (in path order), keyed by ``PatientID``; False keeps every
            image, keyed by its path under ``folder`` without the suffix. Defaults to True.
        workers: threads reading headers. Defaults to 4.
        spatial_dims: image dimensions :meth:`CohortManifest.check_row` requires (2 for radiographs); None accepts
            any. Defaults to 2.

    Returns:
        A manifest whose image paths are relative to ``folder``.

    Raises:
        DataError: the folder is missing, holds no DICOM image, or an image has no ``PatientID``.
    """
    require_pyarrow()
    folder = Path(folder).expanduser()
    if not folder.is_dir():
        raise DataError(f"{folder}: DICOM folder not found")
    files = _dicom_files(folder)
    with ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="dicom-header") as pool:
        records = list(pool.map(_dicom_record, files))
    kept = [(f, r) for f, r in zip(files, records, strict=True) if isinstance(r, dict)]
    skipped = [(f, r) for f, r in zip(files, records, strict=True) if isinstance(r, str)]
    if skipped:
        logger.info(f"{folder}: skipped {len(skipped)} of {len(files)} files, first {skipped[0][0]}: {skipped[0][1]}")
    if not kept:
        raise DataError(f"{folder}: no DICOM image among {len(files)} files (first skipped: {skipped[:1]})")
    nameless = next((f for f, r in kept if not r["patient"]), None)
    if nameless is not None:
        raise DataError(f"{nameless}: DICOM image without a PatientID; every image must name its subject")
    relative = [f.relative_to(folder).as_posix() for f, _ in kept]
    fields = {key: pa.array([r[key] for _, r in kept]) for key in kept[0][1]}
    columns = {
        "subject_id": fields["patient"] if one_per_subject else pa.array([re.sub(r"\.dcm$", "", p) for p in relative]),
        "image": pa.array(relative, pa.string()),
        "patient": fields["patient"],
        "age": _age_years(fields["age"], folder, "PatientAge"),
        "sex": _coded(fields["sex"], _SEX, folder, "PatientSex", strict=False),
        "view": _coded(fields["view"], _VIEW, folder, "ViewPosition", strict=False),
        "modality": fields["modality"],
        "study_uid": fields["study_uid"],
        **{key: to_float64(fields[key], folder, key) for key in ("rows", "columns", "frames")},
    }
    return _manifest(columns, folder, folder, np.arange(len(kept)), one_per_subject, spatial_dims)
