"""DICOM: series folders as one SimpleITK volume, single files' headers and single-frame images through pydicom.

pydicom is optional: it is imported only when a DICOM file is read.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import SimpleITK as sitk

from medmonai.errors import ConfigError, DataError, reason

__all__ = [
    "DICOM_SUFFIXES",
    "NoImageError",
    "dicom_image_shape",
    "dicom_series_files",
    "dicom_series_shape",
    "read_dicom_header",
    "read_dicom_plane",
    "read_dicom_series",
]

DICOM_SUFFIXES = (".dcm",)


class NoImageError(ValueError):
    """A readable file that holds no image (e.g. a DICOM RT plan)."""


def dicom_series_files(folder: str | Path) -> list[str]:
    """The files of the one DICOM series in ``folder``, in slice order (GDCM's sorting).

    Raises:
        DataError: the folder holds no DICOM series, or several.
    """
    folder = Path(folder)
    shown = sitk.ProcessObject.GetGlobalWarningDisplay()
    sitk.ProcessObject.SetGlobalWarningDisplay(False)  # GDCM warns on stderr for every folder without DICOM
    try:
        series = sitk.ImageSeriesReader.GetGDCMSeriesIDs(str(folder))
    finally:
        sitk.ProcessObject.SetGlobalWarningDisplay(shown)
    if len(series) != 1:
        found = "no DICOM series" if not series else f"{len(series)} DICOM series"
        raise DataError(f"{folder}: {found}; a scan folder must hold exactly one series")
    return list(sitk.ImageSeriesReader.GetGDCMSeriesFileNames(str(folder), series[0]))


def read_dicom_series(folder: str | Path) -> sitk.Image:
    """A DICOM series folder as one SimpleITK volume (GDCM sorts the slices by position).

    Raises:
        DataError: see :func:`dicom_series_files`.
        RuntimeError: SimpleITK cannot read the slices.
    """
    reader = sitk.ImageSeriesReader()
    reader.SetFileNames(dicom_series_files(folder))
    return reader.Execute()


def read_dicom_header(path: str | Path, tags: Sequence[str] | None = None) -> Any:
    """A DICOM file's header through pydicom, stopping before the pixel data; pydicom's warnings are silenced.

    Args:
        path: the DICOM file.
        tags: read only these elements (faster on large headers); None reads them all. Defaults to None.

    Raises:
        Whatever pydicom raises: ``InvalidDicomError`` for a file that is not DICOM, and many types for a damaged
        one; ``ImportError`` when pydicom is missing.
    """
    import pydicom

    with warnings.catch_warnings():  # real archives are full of harmless oddities pydicom warns about
        warnings.simplefilter("ignore")
        return pydicom.dcmread(path, stop_before_pixels=True, specific_tags=tags)


def dicom_image_shape(path: Path) -> tuple[int, ...]:
    """``(rows, columns)``, or ``(frames, rows, columns)`` for a multi-frame file, from the header.

    Raises:
        NoImageError: the file is DICOM but holds no image (no Rows/Columns: a report, an RT plan).
    """
    header = read_dicom_header(path)
    if "Rows" not in header or "Columns" not in header:
        raise NoImageError(f"DICOM without an image (no Rows/Columns; modality {header.get('Modality', '?')})")
    frames = int(header.get("NumberOfFrames", 1) or 1)
    size = (int(header.Rows), int(header.Columns))
    return (frames, *size) if frames > 1 else size


def dicom_series_shape(folder: Path) -> tuple[int, ...]:
    """``(slices, rows, columns)`` of the one DICOM series in ``folder``: its file count and first header."""
    files = dicom_series_files(folder)
    return (len(files), *dicom_image_shape(Path(files[0]))[-2:])


def read_dicom_plane(path: Path) -> np.ndarray:
    """Decode a single-frame grayscale DICOM image whole (pydicom): float32 ``(H, W)``, MONOCHROME1 inverted.

    Raises:
        ConfigError: pydicom is missing.
        DataError: the file is unreadable, or not a single-frame grayscale image.
    """
    try:
        import pydicom
    except ImportError as e:
        raise ConfigError(f"{path}: reading DICOM images needs pydicom: pip install pydicom") from e
    logger = logging.getLogger("pydicom")
    level = logger.level
    logger.setLevel(logging.CRITICAL + 1)  # its complaints about odd files come back as our error below
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            dataset = pydicom.dcmread(path)
            pixels = np.asarray(dataset.pixel_array, np.float32)
    except Exception as e:  # pydicom raises many types for damaged files and missing decoders
        raise DataError(f"{path}: unreadable DICOM image ({reason(e)})") from e
    finally:
        logger.setLevel(level)
    if pixels.ndim != 2:
        raise DataError(f"{path}: expected a single-frame grayscale DICOM image, got pixels of shape {pixels.shape}")
    return -pixels if dataset.get("PhotometricInterpretation") == "MONOCHROME1" else pixels
