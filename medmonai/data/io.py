"""Reading images: 2-D grayscale into [0, 1], 3-D volumes as MetaTensors, and volume headers without voxels.

One rule scales 8-bit data to [0, 1] (:func:`unit_range`); one reader opens every volume format
(:func:`load_volume`); headers are checked for a shared voxel grid before any voxels are read
(:func:`read_header`, :func:`check_same_grid`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import nibabel as nib
import numpy as np
import SimpleITK as sitk
import torch
from monai.data import DataLoader, Dataset, MetaTensor
from PIL import Image, UnidentifiedImageError

from medmonai.errors import DataError, reason

VOLUME_SUFFIXES = (".nii.gz", ".nii", ".mha", ".mhd", ".nrrd", ".nhdr")  # what load_volume reads as one file

__all__ = [
    "IMAGE_SUFFIXES",
    "ImageHeader",
    "VOLUME_SUFFIXES",
    "check_images",
    "check_same_grid",
    "check_spacing",
    "dicom_series_files",
    "load_grayscale",
    "load_volume",
    "ras_affine",
    "read_dicom_series",
    "read_header",
    "unit_range",
    "volume_loader",
]


IMAGE_SUFFIXES = (".jpeg", ".jpg", ".png", ".tif", ".tiff", ".bmp")  # what load_grayscale reads


def check_images(paths: Sequence[str | Path], min_side: int = 8, decode: bool = False) -> None:
    """Check 2-D images before any output: readable headers, at least ``min_side`` pixels a side, whole JPEGs.

    Without ``decode`` only the header and a JPEG's last bytes are read, so tens of thousands of images (a
    training tree) are checked in seconds. With it every image is decoded too, which also finds damage inside the
    file and images of one constant value (nothing to score); for a user's folder of new images.

    Raises:
        DataError: naming the first bad file and what is wrong with it.
    """
    for path in map(Path, paths):
        try:
            with Image.open(path) as image:
                size, kind = image.size, image.format
                extent = image.convert("L").getextrema() if decode and min(size) >= min_side else None
        except (OSError, UnidentifiedImageError, SyntaxError, ValueError) as e:
            raise DataError(f"{path}: unreadable image ({e})") from e
        if min(size) < min_side:
            raise DataError(f"{path}: image is {size[0]}x{size[1]} pixels, too small (each side >= {min_side})")
        if kind == "JPEG" and not _ends_a_jpeg(path):
            raise DataError(f"{path}: truncated JPEG (no end-of-image marker)")
        if extent is not None and extent[0] == extent[1]:
            raise DataError(f"{path}: image is constant (every pixel {extent[0]}); nothing to score")


def _ends_a_jpeg(path: Path) -> bool:
    """A complete JPEG has its end-of-image marker (FF D9) at the end, give or take some padding."""
    with path.open("rb") as f:
        f.seek(max(0, path.stat().st_size - 64))
        return b"\xff\xd9" in f.read()


def unit_range(images: np.ndarray) -> np.ndarray:
    """``images`` as float32 in [0, 1]: 8-bit data (uint8, or any values above 1) is divided by 255."""
    x = np.asarray(images).astype(np.float32)
    return x / 255.0 if images.dtype == np.uint8 or x.max(initial=0.0) > 1.0 else x


def load_grayscale(path: str | Path, size: int = 128) -> np.ndarray:
    """Read an image as grayscale, resize its shorter side to ``size`` (bilinear) and centre-crop a square.

    OCT B-scans are wider than tall; the crop keeps the centre of the retina. Returns ``(1, size, size)``
    float32 in [0, 1].

    Raises:
        DataError: the file is not a readable image.
    """
    try:
        with Image.open(path) as image:
            gray = image.convert("L")
    except (OSError, UnidentifiedImageError) as e:
        raise DataError(f"{path}: unreadable image ({e})") from e
    scale = size / min(gray.size)
    width, height = max(size, round(gray.width * scale)), max(size, round(gray.height * scale))
    gray = gray.resize((width, height), Image.BILINEAR)
    left, top = (width - size) // 2, (height - size) // 2
    crop = gray.crop((left, top, left + size, top + size))
    return unit_range(np.asarray(crop))[None]


def load_volume(path: str | Path) -> MetaTensor:
    """Read a 3-D volume as a channel-first ``(1, X, Y, Z)`` float32 ``MetaTensor`` (NIfTI via nibabel, else SimpleITK).

    SimpleITK's ``(z, y, x)`` array is transposed to ``(x, y, z)`` so that axial slices are the last axis. The
    MetaTensor's ``filename_or_obj`` names the file, so later transforms can name it in their errors, and its
    ``affine`` is the voxel-to-world (RAS, mm) matrix, as nibabel reports it. ``original_affine`` and
    ``spatial_shape`` keep the file's own grid after reorientation and resampling, so maps can go back onto it.

    Raises:
        DataError: the file is unreadable or truncated, or not 3-D.
    """
    path = Path(path)
    if path.name.lower().endswith((".nii", ".nii.gz")):
        return _load_nifti(path)
    try:
        image = read_dicom_series(path) if path.is_dir() else sitk.ReadImage(str(path))
    except RuntimeError as e:
        raise DataError(f"{path}: unreadable image ({reason(e, last_chars=160)})") from e
    if image.GetDimension() != 3 or image.GetNumberOfComponentsPerPixel() != 1:
        raise DataError(f"{path}: expected a 3-D single-channel volume, got size {image.GetSize()}")
    array = np.ascontiguousarray(sitk.GetArrayFromImage(image).transpose(2, 1, 0), dtype=np.float32)
    affine = ras_affine(image)
    meta = {"filename_or_obj": str(path), "spacing": image.GetSpacing(), "affine": affine}
    meta.update({"original_affine": affine.clone(), "spatial_shape": np.asarray(array.shape)})
    return MetaTensor(array[None], meta=meta)


def _load_nifti(path: Path) -> MetaTensor:
    """NIfTI through nibabel: as fast, and it keeps NaN voxels, which ITK's NIfTI reader turns into zeros."""
    _check_nifti_header(path)
    try:
        image = nib.load(str(path))
        array = np.asarray(image.dataobj, dtype=np.float32)
    except Exception as e:  # nibabel raises many types for corrupt files
        raise DataError(f"{path}: unreadable image ({reason(e, last_chars=160)})") from e
    if array.ndim != 3:
        raise DataError(f"{path}: expected a 3-D single-channel volume, got shape {array.shape}")
    meta = {
        "filename_or_obj": str(path),
        "spacing": tuple(float(z) for z in image.header.get_zooms()[:3]),
        "affine": torch.as_tensor(image.affine, dtype=torch.float64),
        "original_affine": torch.as_tensor(image.affine, dtype=torch.float64),
        "spatial_shape": np.asarray(array.shape),
    }
    return MetaTensor(np.ascontiguousarray(array)[None], meta=meta)


def ras_affine(image: sitk.Image) -> torch.Tensor:
    """The 4x4 voxel-to-world affine of a SimpleITK image in RAS convention (ITK's world is LPS)."""
    spacing = np.asarray(image.GetSpacing(), np.float64)
    direction = np.asarray(image.GetDirection(), np.float64).reshape(3, 3)
    affine = np.eye(4)
    affine[:3, :3] = direction * spacing[None, :]
    affine[:3, 3] = image.GetOrigin()
    affine[:2] *= -1.0  # LPS -> RAS flips x and y
    return torch.as_tensor(affine, dtype=torch.float64)


def volume_loader(items: list[dict], transform: Callable, num_workers: int = 0) -> DataLoader:
    """Whole volumes one at a time (batch size 1, in datalist order), as the anomaly evaluators take them.

    Args:
        items: datalist items.
        transform: loads and preprocesses one item.
        num_workers: DataLoader workers. Defaults to 0.
    """
    return DataLoader(Dataset(items, transform), batch_size=1, num_workers=num_workers)


@dataclass(frozen=True)
class ImageHeader:
    """Size, spacing and direction of an image file, read without its voxels."""

    path: Path
    size: tuple[int, ...]
    spacing: tuple[float, ...]
    direction: tuple[float, ...]
    origin: tuple[float, ...] = (0.0, 0.0, 0.0)


MAX_SPACING_MM = 20.0  # no brain scan has thicker voxels; beyond this a header is wrong


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


def _check_nifti_header(path: Path) -> None:
    """NIfTI readers quietly replace a zero or negative pixdim with 1 or its absolute value: check it raw."""
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


def read_header(path: str | Path) -> ImageHeader:
    """Read an image header with SimpleITK (a DICOM series folder is read whole: DICOM has no volume header).

    Raises:
        DataError: the file is unreadable (missing, truncated header, missing raw data file) or not 3-D.
    """
    path = Path(path)
    if path.name.lower().endswith((".nii", ".nii.gz")) and path.is_file():
        _check_nifti_header(path)
    if path.is_dir():
        try:
            image = read_dicom_series(path)
        except RuntimeError as e:
            raise DataError(f"{path}: unreadable DICOM series ({reason(e, last_chars=160)})") from e
        if image.GetDimension() != 3:
            raise DataError(f"{path}: expected a 3-D volume, got size {image.GetSize()}")
        check_spacing(path, image.GetSpacing(), image.GetDirection())
        return ImageHeader(path, tuple(image.GetSize()), image.GetSpacing(), image.GetDirection(), image.GetOrigin())
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
