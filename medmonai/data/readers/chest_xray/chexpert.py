"""CheXpert: its ``train.csv`` or ``valid.csv`` as a cohort manifest, under a policy for uncertain and blank labels.

Each observation is 1 (positive), 0 (negative), -1 (uncertain) or blank (not mentioned in the report); see
:mod:`medmonai.data.readers.chest_xray` for the policies.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from medmonai.data.io import read_manifest_table
from medmonai.data.readers.chest_xray.coding import (
    SEX_CODES,
    VIEW_CODES,
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

__all__ = ["CHEXPERT_OBSERVATIONS", "chexpert_manifest"]

logger = logging.getLogger(__name__)

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
    require_columns(table, csv_path, ["Path", "Sex", "Age", "Frontal/Lateral", "AP/PA", *CHEXPERT_OBSERVATIONS], layout)
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
        "sex": coded(table["Sex"], SEX_CODES, csv_path, "Sex"),
        "frontal": coded(table["Frontal/Lateral"], {"FRONTAL": 1.0, "LATERAL": 0.0}, csv_path, "Frontal/Lateral"),
        "view": coded(table["AP/PA"], VIEW_CODES, csv_path, "AP/PA"),
        "study": to_float64(pc.struct_field(parts, "study"), csv_path, "Path"),
    }
    for name in CHEXPERT_OBSERVATIONS:
        columns[covariate_name(name)] = _chexpert_labels(table[name], csv_path, name, uncertain, blank)
    root = Path(root).expanduser() if root else _chexpert_root(csv_path, paths[0].as_py())
    return cohort_manifest(columns, csv_path, root, np.arange(table.num_rows), one_per_subject, spatial_dims=2)
