"""A folder of DICOM files (searched recursively) as a cohort manifest, indexed by their headers alone."""

from __future__ import annotations

import logging
import os
import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from medmonai.data.io import read_dicom_header, require_pyarrow
from medmonai.data.readers.chest_xray.coding import SEX_CODES, VIEW_CODES, age_years, coded, cohort_manifest
from medmonai.data.readers.cohort import CohortManifest, to_float64
from medmonai.errors import DataError, reason

try:  # the optional "population" extra; CohortManifest names the install command when it is missing
    import pyarrow as pa
except ImportError:  # pragma: no cover - exercised only where pyarrow is absent
    pa = None

__all__ = ["dicom_manifest"]

logger = logging.getLogger(__name__)

_DICOM_TAGS = ["PatientID", "PatientAge", "PatientSex", "ViewPosition", "Modality", "StudyInstanceUID"]
_DICOM_TAGS += ["Rows", "Columns", "NumberOfFrames"]


def _dicom_record(path: Path) -> dict | str:
    """The header fields of one DICOM file, or why it is left out (not DICOM, no image, unreadable)."""
    from pydicom.errors import InvalidDicomError  # outside the try: a missing pydicom is an error, not a skip

    try:
        header = read_dicom_header(path, _DICOM_TAGS)
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
        "age": age_years(fields["age"], folder, "PatientAge"),
        "sex": coded(fields["sex"], SEX_CODES, folder, "PatientSex", strict=False),
        "view": coded(fields["view"], VIEW_CODES, folder, "ViewPosition", strict=False),
        "modality": fields["modality"],
        "study_uid": fields["study_uid"],
        **{key: to_float64(fields[key], folder, key) for key in ("rows", "columns", "frames")},
    }
    return cohort_manifest(columns, folder, folder, np.arange(len(kept)), one_per_subject, spatial_dims)
