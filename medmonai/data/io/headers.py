"""Image headers read without voxels: 3-D grids checked for plausibility and agreement, image sizes of any format.

:func:`read_header` reads a volume's size, spacing, direction and origin and refuses implausible ones;
:func:`check_same_grid` checks that one case's images share a voxel grid; :func:`image_header_shape` reads the
size of any image file (2-D or 3-D) by its extension, as cohort manifests check their rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import nibabel as nib
import numpy as np
import SimpleITK as sitk

from medmonai.data.io.dicom import (
    DICOM_SUFFIXES,
    NoImageError,
    dicom_image_shape,
    dicom_series_shape,
    read_dicom_series,
)
from medmonai.data.io.pictures import IMAGE_SUFFIXES, picture_shape
from medmonai.errors import DataError, reason

__all__ = [
    "MAX_SPACING_MM",
    "NIFTI_SUFFIXES",
    "ImageHeader",
    "check_nifti_header",
    "check_same_grid",
    "check_spacing",
    "image_header_shape",
    "image_shape_or_problem",
    "read_header",
]

NIFTI_SUFFIXES = (".nii.gz", ".nii")
MAX_SPACING_MM = 20.0  # no brain scan has thicker voxels; beyond this a header is wrong


@dataclass(frozen=True)
class ImageHeader:
    """Size, spacing and direction of an image file, read without its voxels."""

    path: Path
    size: tuple[int, ...]
    spacing: tuple[float, ...]
    direction: tuple[float, ...]
    origin: tuple[float, ...] = (0.0, 0.0, 0.0)


def check_spacing(path: str | Path, spacing: Sequence[float], direction: Sequence[float] | None = None) -> None:
    """Refuse voxel spacing that is not finite, zero, negative or implausible (> 20 mm), or a degenerate direction.

    Raises:
        DataError: naming the file and the spacing.
    """
    values = np.asarray(spacing, np.float64)
    if not np.all(np.isfinite(values)) or np.any(values <= 0) or np.any(values > MAX_SPACING_MM):
        shown = tuple(round(float(v), 4) for v in values)
        raise DataError(f"{path}: implausible voxel spacing {shown} mm (each must be in (0, {MAX_SPACING_MM:g}])")
    if direction is not None:
        matrix = np.asarray(direction, np.float64).reshape(len(values), len(values))
        if not np.all(np.isfinite(matrix)) or abs(np.linalg.det(matrix)) < 1e-3:
            raise DataError(f"{path}: degenerate orientation (direction cosines {tuple(np.round(matrix.ravel(), 3))})")


def check_nifti_header(path: Path) -> None:
    """NIfTI readers quietly replace a zero or negative pixdim with 1 or its absolute value: check it raw.

    Raises:
        DataError: the header is unreadable, or its spacing or affine is implausible.
    """
    try:
        with nib.openers.ImageOpener(str(path)) as fobj:  # unchecked: as written, before nibabel's repairs
            header = nib.Nifti1Header.from_fileobj(fobj, check=False)
    except Exception as e:  # nibabel raises many types for corrupt files
        raise DataError(f"{path}: unreadable image header ({reason(e, last_chars=160)})") from e
    dims = int(header["dim"][0])
    check_spacing(path, [float(z) for z in header["pixdim"][1 : 1 + min(max(dims, 1), 3)]])
    affine = header.get_best_affine()
    if not np.all(np.isfinite(affine)) or abs(np.linalg.det(affine[:3, :3])) < 1e-6:
        raise DataError(f"{path}: degenerate affine (voxel-to-world matrix {np.round(affine[:3, :3], 3).tolist()})")


def _itk_information(path: Path) -> sitk.ImageFileReader:
    """A SimpleITK reader of ``path`` that has read the header only (raises RuntimeError for a bad file)."""
    reader = sitk.ImageFileReader()
    reader.SetFileName(str(path))
    reader.ReadImageInformation()
    return reader


def read_header(path: str | Path) -> ImageHeader:
    """Read an image header with SimpleITK (a DICOM series folder is read whole: DICOM has no volume header).

    Raises:
        DataError: the file is unreadable (missing, truncated header, missing raw data file) or not 3-D.
    """
    path = Path(path)
    if path.name.lower().endswith(NIFTI_SUFFIXES) and path.is_file():
        check_nifti_header(path)
    if path.is_dir():
        try:
            image = read_dicom_series(path)
        except RuntimeError as e:
            raise DataError(f"{path}: unreadable DICOM series ({reason(e, last_chars=160)})") from e
        if image.GetDimension() != 3:
            raise DataError(f"{path}: expected a 3-D volume, got size {image.GetSize()}")
        check_spacing(path, image.GetSpacing(), image.GetDirection())
        return ImageHeader(path, tuple(image.GetSize()), image.GetSpacing(), image.GetDirection(), image.GetOrigin())
    try:
        reader = _itk_information(path)
    except RuntimeError as e:
        raise DataError(f"{path}: unreadable image header ({reason(e, last_chars=160)})") from e
    size = tuple(int(s) for s in reader.GetSize())
    if len(size) != 3:
        raise DataError(f"{path}: expected a 3-D volume, got {len(size)}-D with size {size}")
    _check_metaimage_data(path, size)
    check_spacing(path, reader.GetSpacing(), reader.GetDirection())
    return ImageHeader(path, size, tuple(reader.GetSpacing()), tuple(reader.GetDirection()), tuple(reader.GetOrigin()))


_MET_BYTES = {"MET_CHAR": 1, "MET_UCHAR": 1, "MET_SHORT": 2, "MET_USHORT": 2, "MET_INT": 4, "MET_UINT": 4}
_MET_BYTES.update({"MET_LONG": 8, "MET_ULONG": 8, "MET_FLOAT": 4, "MET_DOUBLE": 8})


def _metaimage_fields(path: Path) -> tuple[dict[str, str], int]:
    """Header fields of a MetaImage file and the byte offset where its voxel data starts."""
    fields: dict[str, str] = {}
    offset = 0
    with path.open("rb") as f:
        for raw_line in f:
            offset += len(raw_line)
            key, _, value = raw_line.decode("latin-1").partition("=")
            fields[key.strip()] = value.strip()
            if key.strip() == "ElementDataFile":
                break
    return fields, offset


def _check_metaimage_data(path: Path, size: tuple[int, ...]) -> None:
    """Catch a missing raw file, or uncompressed voxel data shorter than the header promises."""
    if path.suffix.lower() not in (".mha", ".mhd"):
        return
    fields, offset = _metaimage_fields(path)
    data_file = fields.get("ElementDataFile", "LOCAL")
    if data_file.upper() != "LOCAL":
        raw = path.parent / data_file
        if not raw.is_file():
            raise DataError(f"{path}: its raw data file {data_file} is missing")
        present = raw.stat().st_size
    else:
        present = path.stat().st_size - offset
    if fields.get("CompressedData", "False").lower() == "true" or fields.get("ElementType") not in _MET_BYTES:
        return
    channels = int(fields.get("ElementNumberOfChannels", "1") or 1)
    needed = int(np.prod(size)) * channels * _MET_BYTES[fields["ElementType"]]
    if present < needed:
        raise DataError(f"{path}: truncated voxel data (needs {needed} bytes, has {present})")


def _rounded(values: Sequence[float]) -> tuple[float, ...]:
    """Plain floats for messages: ``(2.0, 2.0, 8.0)``, not numpy 2's ``(np.float64(2.0), ...)``."""
    return tuple(round(float(v), 4) for v in values)


def check_same_grid(headers: Sequence[ImageHeader], atol: float = 1e-3) -> None:
    """Check that every header has the first one's size, spacing, direction and origin (its affine).

    Args:
        headers: headers of one case's images; the first is the reference.
        atol: absolute tolerance on spacing and origin (mm) and on direction cosines. Defaults to 1e-3.

    Raises:
        DataError: naming the first file whose size or affine differs from the reference.
    """
    reference = headers[0]
    for header in headers[1:]:
        if header.size != reference.size:
            raise DataError(f"{header.path}: size {header.size} differs from {reference.path.name} {reference.size}")
        for field in ("spacing", "direction", "origin"):
            if not np.allclose(getattr(header, field), getattr(reference, field), rtol=0.0, atol=atol):
                raise DataError(
                    f"{header.path}: affine differs from {reference.path.name} beyond tolerance {atol} "
                    f"({field} {_rounded(getattr(header, field))} vs {_rounded(getattr(reference, field))})"
                )


def image_header_shape(path: str | Path) -> tuple[int, ...]:
    """The image size from a file's header, without reading its pixels.

    NIfTI through nibabel, PNG/JPEG/TIFF/BMP through PIL (lazy, not decoded), DICOM through pydicom (stops before
    the pixel data), a folder as one DICOM series, anything else (MHA, NRRD, ...) through SimpleITK's
    ``ReadImageInformation``. Trailing axes of size 1 are dropped, so a 2-D image stored as ``(H, W, 1)`` is 2-D.

    Args:
        path: an image file, or a folder holding one DICOM series.

    Returns:
        The size of each axis, e.g. ``(H, W)`` or ``(X, Y, Z)``.

    Raises:
        DataError: the header cannot be read, or holds no image.
    """
    shape = image_shape_or_problem(Path(path))
    if isinstance(shape, str):
        raise DataError(f"{path}: {shape}")
    return shape


def image_shape_or_problem(path: Path) -> tuple[int, ...] | str:
    """The header's image size (trailing size-1 axes dropped), or what stops it being read, in a few words."""
    name = path.name.lower()
    try:
        if path.is_dir():
            shape = dicom_series_shape(path)
        elif name.endswith(NIFTI_SUFFIXES):
            shape = tuple(nib.load(str(path)).header.get_data_shape())  # only the header until data is asked
        elif name.endswith(IMAGE_SUFFIXES):
            shape = picture_shape(path)
        elif name.endswith(DICOM_SUFFIXES):
            shape = dicom_image_shape(path)
        else:
            shape = tuple(_itk_information(path).GetSize())
    except NoImageError as e:
        return str(e)
    except Exception as e:  # every reader has its own exception types for a damaged file
        return f"unreadable image header ({reason(e, last_chars=160)})"
    while len(shape) > 2 and shape[-1] == 1:
        shape = shape[:-1]
    return tuple(int(s) for s in shape)
