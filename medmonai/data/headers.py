"""Image headers read without their voxels, and the checks that images of one case share a voxel grid."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import SimpleITK as sitk

from medmonai.errors import DataError, reason

__all__ = ["ImageHeader", "read_header", "check_same_grid"]


@dataclass(frozen=True)
class ImageHeader:
    """Size, spacing and direction of an image file, read without its voxels."""

    path: Path
    size: tuple[int, ...]
    spacing: tuple[float, ...]
    direction: tuple[float, ...]
    origin: tuple[float, ...] = (0.0, 0.0, 0.0)


def read_header(path: str | Path) -> ImageHeader:
    """Read an image header with SimpleITK.

    Raises:
        DataError: the file is unreadable (missing, truncated header, missing raw data file) or not 3-D.
    """
    path = Path(path)
    reader = sitk.ImageFileReader()
    reader.SetFileName(str(path))
    try:
        reader.ReadImageInformation()
    except RuntimeError as e:
        raise DataError(f"{path}: unreadable image header ({reason(e, last_chars=160)})") from e
    size = tuple(int(s) for s in reader.GetSize())
    if len(size) != 3:
        raise DataError(f"{path}: expected a 3-D volume, got {len(size)}-D with size {size}")
    _check_metaimage_data(path, size)
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
                    f"({field} {tuple(np.round(getattr(header, field), 4))} vs "
                    f"{tuple(np.round(getattr(reference, field), 4))})"
                )
