"""Reader for 2-D image sets (GAN training): a folder of pictures or DICOM images, a CSV of channels, NIfTI slices.

:func:`image_set` turns one of three sources into a datalist of 2-D images:

- a plain folder of single-channel pictures (PNG, JPEG, TIFF, BMP) or single-frame DICOM images (``.dcm``);
- a CSV manifest with one column per channel (``channels``; by default the one column ``image``) and an optional
  ``subject_id``, paths relative to the manifest's folder; ``label`` and ``mask`` columns are carried along;
- a folder of NIfTI volumes (``.nii``, ``.nii.gz``): the ``n_slices`` central slices along ``slice_axis`` of
  each volume, reoriented to RAS first, so axis 2 is axial, 1 coronal and 0 sagittal.

Items are ``{"image": [path per channel], "subject_id": str, "slice": int}`` (``slice`` -1 for a 2-D file).
Every file is read whole before the datalist is returned, so a damaged, constant or too small image, or one of
the wrong size when images are not resized, fails before any output, naming the file.

:func:`load_plane` reads one channel as :class:`~medmonai.transforms.LoadImageChannels` does; both agree on what
a file holds, so whatever passes the checks here also loads.
"""

from __future__ import annotations

import csv
import logging
import warnings
from collections.abc import Sequence
from pathlib import Path

import nibabel as nib
import numpy as np
from PIL import Image, UnidentifiedImageError

from medmonai.data.io import IMAGE_SUFFIXES, check_images
from medmonai.errors import ConfigError, DataError, reason
from medmonai.keys import Keys

__all__ = ["DICOM_SUFFIXES", "NIFTI_SUFFIXES", "PLANE_SUFFIXES", "image_set", "load_plane"]

DICOM_SUFFIXES = (".dcm",)
NIFTI_SUFFIXES = (".nii.gz", ".nii")
PLANE_SUFFIXES = IMAGE_SUFFIXES + DICOM_SUFFIXES + NIFTI_SUFFIXES  # what image_set and load_plane read
MIN_SIDE = 8  # pixels; a smaller image has nothing to learn from
SUBJECT_KEY = "subject_id"
SLICE_KEY = "slice"
_INTEGER_RANGES = {"1": (0.0, 1.0), "L": (0.0, 255.0), "I;16": (0.0, 65535.0), "I;16B": (0.0, 65535.0)}
_INTEGER_RANGES.update({"I;16L": (0.0, 65535.0), "I;16N": (0.0, 65535.0)})


def _kind(path: Path) -> str | None:
    """``"picture"``, ``"dicom"`` or ``"volume"`` by the file's suffix, or None for anything else."""
    lower = path.name.lower()
    if lower.endswith(NIFTI_SUFFIXES):
        return "volume"
    if lower.endswith(DICOM_SUFFIXES):
        return "dicom"
    return "picture" if lower.endswith(IMAGE_SUFFIXES) else None


def _stem(path: Path) -> str:
    """The file name without its suffix (both of ``.nii.gz``)."""
    lower = path.name.lower()
    for suffix in NIFTI_SUFFIXES:
        if lower.endswith(suffix):
            return path.name[: -len(suffix)]
    return path.stem


def _read_picture(path: Path) -> tuple[np.ndarray, tuple[float, float] | None]:
    """Decode a picture whole: its pixels (float32 ``(H, W)``) and its dtype's range (None: scale by min-max).

    8-bit pictures (and colour ones, converted to luminance) have the range 0-255, 16-bit ones 0-65535; 32-bit
    integer pictures holding values in 0-65535 (as PIL opens some 16-bit files) count as 16-bit; float pictures
    and wider integers are scaled by their own minimum and maximum.
    """
    try:
        with Image.open(path) as image:
            if image.mode not in _INTEGER_RANGES and image.mode not in ("I", "F"):
                image = image.convert("L")
            mode, pixels = image.mode, np.asarray(image)
    except (OSError, UnidentifiedImageError, SyntaxError, ValueError) as e:
        raise DataError(f"{path}: unreadable image ({e})") from e
    if pixels.ndim != 2:
        raise DataError(f"{path}: expected a single-channel image, got pixels of shape {pixels.shape}")
    pixels = pixels.astype(np.float32)
    if mode == "I" and pixels.size and pixels.min() >= 0 and pixels.max() <= 65535:
        return pixels, (0.0, 65535.0)
    return pixels, _INTEGER_RANGES.get(mode)


def _read_dicom(path: Path) -> np.ndarray:
    """Decode a single-frame grayscale DICOM image whole (pydicom): float32 ``(H, W)``, MONOCHROME1 inverted."""
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


def _read_volume(path: Path) -> np.ndarray:
    """Decode a NIfTI volume whole, reoriented to RAS (axes swapped and flipped, never resampled): float32 3-D.

    Non-finite voxels are set to the smallest finite value.
    """
    try:
        image = nib.as_closest_canonical(nib.load(str(path)))
        volume = np.asarray(image.dataobj, np.float32)
    except Exception as e:  # nibabel raises many types for corrupt files
        raise DataError(f"{path}: unreadable volume ({reason(e, last_chars=160)})") from e
    while volume.ndim > 3 and volume.shape[-1] == 1:
        volume = volume[..., 0]
    if volume.ndim != 3:
        raise DataError(f"{path}: expected a 3-D single-channel volume, got shape {volume.shape}")
    finite = np.isfinite(volume)
    if not finite.all():
        volume = np.where(finite, volume, volume[finite].min(initial=0.0)).astype(np.float32)
    return volume


def _volume_plane(volume: np.ndarray, slice_axis: int, index: int) -> np.ndarray:
    """Slice ``index`` along ``slice_axis``, shown as usual: the later remaining axis vertical and rising upwards.

    For an axial slice of a RAS volume, rows run from anterior (top) to posterior, columns from left to right.
    """
    return np.ascontiguousarray(np.flipud(np.take(volume, index, axis=slice_axis).T))


def _unit(pixels: np.ndarray, value_range: tuple[float, float] | None) -> np.ndarray:
    """``pixels`` scaled to [0, 1] by ``value_range``, or by their own minimum and maximum when it is None."""
    low, high = value_range if value_range else (float(pixels.min()), float(pixels.max()))
    return np.clip((pixels - np.float32(low)) / np.float32(max(high - low, 1e-12)), 0.0, 1.0).astype(np.float32)


def load_plane(path: str | Path, slice_index: int = -1, slice_axis: int = 2) -> np.ndarray:
    """Read one channel of a 2-D image as float32 ``(H, W)`` in [0, 1].

    Pictures with 8- or 16-bit pixels are scaled by their dtype's range (0-255, 0-65535); float pictures, DICOM
    images (whose stored values are not display values) and NIfTI slices by their own minimum and maximum.

    Args:
        path: a picture (PNG, JPEG, TIFF, BMP), a single-frame DICOM image or a NIfTI volume.
        slice_index: for a volume, the slice to read (>= 0); ignored for 2-D files. Defaults to -1.
        slice_axis: for a volume, the axis sliced, after reorienting to RAS (2: axial). Defaults to 2.

    Raises:
        DataError: the file is unreadable or of an unknown type, not single-channel, or a volume is read without
            a valid slice index.
    """
    path = Path(path)
    kind = _kind(path)
    if kind == "picture":
        return _unit(*_read_picture(path))
    if kind == "dicom":
        return _unit(_read_dicom(path), None)
    if kind is None:
        raise DataError(f"{path}: unsupported image type (expected one of {', '.join(PLANE_SUFFIXES)})")
    volume = _read_volume(path)
    if not 0 <= slice_index < volume.shape[slice_axis]:
        raise DataError(
            f"{path}: no slice {slice_index} along axis {slice_axis} (the volume's shape is {volume.shape})"
        )
    return _unit(_volume_plane(volume, slice_axis, slice_index), None)


def _check_plane(path: Path, plane: np.ndarray, image_shape: tuple[int, int], resize: bool, what: str) -> None:
    """Refuse a too small or constant plane, or one not of ``image_shape`` when images are not resized."""
    height, width = plane.shape
    if min(height, width) < MIN_SIDE:
        raise DataError(f"{path}: {what} is {height}x{width} pixels, too small (each side >= {MIN_SIDE})")
    if plane.min() == plane.max():
        raise DataError(f"{path}: {what} is constant (every pixel {plane.min():g}); nothing to learn")
    if not resize and (height, width) != image_shape:
        raise DataError(
            f"{path}: {what} is {height}x{width}, expected {image_shape[0]}x{image_shape[1]} "
            "(set --resize true to resize)"
        )


def _central_slices(extent: int, n_slices: int) -> list[int]:
    """The ``n_slices`` slice indices around the middle of ``extent`` slices."""
    first = (extent - n_slices) // 2
    return list(range(first, first + n_slices))


def _checked_shapes(
    paths: Sequence[Path], image_shape: tuple[int, int], resize: bool, slice_axis: int, n_slices: int
) -> list[int]:
    """Read every channel of one item whole and check it; returns the slices to take (``[-1]`` for 2-D files).

    Raises:
        DataError: see :func:`image_set`; channels of differing sizes, or volumes mixed with 2-D files.
    """
    kinds = {_kind(p) == "volume" for p in paths}
    if len(kinds) > 1:
        raise DataError(f"{paths[0]}: a volume and a 2-D image are channels of one item; use one or the other")
    slices, reference = [-1], None
    for path in paths:
        if _kind(path) == "volume":
            volume = _read_volume(path)
            extent = volume.shape[slice_axis]
            if extent < n_slices:
                raise DataError(
                    f"{path}: {extent} slices along axis {slice_axis}, fewer than n_slices={n_slices} "
                    f"(volume shape {volume.shape})"
                )
            slices = _central_slices(extent, n_slices)
            for index in slices:
                _check_plane(path, _volume_plane(volume, slice_axis, index), image_shape, resize, f"slice {index}")
            shape = tuple(volume.shape)
        else:
            if _kind(path) == "picture":
                check_images([path], min_side=1)  # the header, and a JPEG's end-of-image marker
                plane = _read_picture(path)[0]
            else:
                plane = _read_dicom(path)
            _check_plane(path, plane, image_shape, resize, "image")
            shape = plane.shape
        if reference is None:
            reference = (path, shape)
        elif shape != reference[1]:
            size, first = "x".join(map(str, shape)), "x".join(map(str, reference[1]))
            raise DataError(f"{path}: size {size} differs from {reference[0].name} ({first}), a channel of one item")
    return slices


def _items(
    paths: list[Path], subject: str, extra: dict, image_shape: tuple[int, int], resize: bool, axis: int, n: int
) -> list[dict]:
    slices = _checked_shapes(paths, image_shape, resize, axis, n)
    image = [str(p) for p in paths]
    return [{str(Keys.IMAGE): list(image), SUBJECT_KEY: subject, SLICE_KEY: index, **extra} for index in slices]


def _folder_items(folder: Path, channels: Sequence[str] | None) -> list[tuple[list[Path], str, dict]]:
    if channels is not None and len(channels) != 1:
        raise ConfigError(
            f"{folder}: a folder holds single-channel images; channels {list(channels)} need a CSV manifest"
        )
    paths = sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith(".") and _kind(p))
    if not paths:
        raise DataError(f"{folder}: no images (expected {', '.join(PLANE_SUFFIXES)} files)")
    return [([p], _stem(p), {}) for p in paths]


def _manifest_rows(manifest: Path) -> tuple[list[str], list[dict]]:
    try:
        with manifest.open(newline="", encoding="utf-8") as f:
            reader = csv.DictReader(f)
            rows = [{k.strip(): (v or "").strip() for k, v in row.items() if k is not None} for row in reader]
            columns = [c.strip() for c in reader.fieldnames or []]
    except (csv.Error, UnicodeDecodeError) as e:
        raise DataError(f"{manifest}: malformed CSV ({e})") from e
    return columns, rows


def _manifest_items(manifest: Path, channels: Sequence[str] | None) -> list[tuple[list[Path], str, dict]]:
    columns, rows = _manifest_rows(manifest)
    if not columns:
        raise DataError(f"{manifest}: empty manifest (no header line); it lists no images")
    channels = list(channels) if channels is not None else [str(Keys.IMAGE)]
    missing = [c for c in channels if c not in columns]
    if missing:
        raise DataError(f"{manifest}: no column {', '.join(map(repr, missing))}; its columns are {columns}")
    if not rows:
        raise DataError(f"{manifest}: lists no images")
    entries = []
    for line, row in enumerate(rows, start=2):  # line 1 is the header
        paths = []
        for column in channels:
            if not row.get(column):
                raise DataError(f"{manifest}: line {line} has no path in column {column!r}")
            path = Path(row[column]).expanduser()
            path = path if path.is_absolute() else manifest.parent / path
            if _kind(path) is None:
                raise DataError(
                    f"{path}: unsupported image type (listed in {manifest}, line {line}; "
                    f"expected one of {', '.join(PLANE_SUFFIXES)})"
                )
            if not path.is_file():
                raise DataError(f"{path}: listed in {manifest} (line {line}, column {column!r}) but missing")
            paths.append(path)
        entries.append((paths, row.get(SUBJECT_KEY) or _stem(paths[0]), _row_extras(manifest, line, row, columns)))
    return entries


def _row_extras(manifest: Path, line: int, row: dict, columns: list[str]) -> dict:
    """A row's ``label`` (int) and ``mask`` (absolute path, "" for none), where the manifest has those columns."""
    extra: dict = {}
    if Keys.LABEL in columns:
        try:
            extra[str(Keys.LABEL)] = int(row.get(Keys.LABEL, ""))
        except ValueError as e:
            raise DataError(f"{manifest}: line {line} has label {row.get(Keys.LABEL)!r}; expected an integer") from e
    if "mask" in columns:
        mask = row.get("mask", "")
        if mask:
            path = Path(mask).expanduser()
            path = path if path.is_absolute() else manifest.parent / path
            if not path.is_file():
                raise DataError(f"{path}: listed in {manifest} (line {line}, column 'mask') but missing")
            mask = str(path)
        extra["mask"] = mask
    return extra


def _check_settings(image_shape: Sequence[int], slice_axis: int, n_slices: int) -> tuple[int, int]:
    shape = tuple(int(s) for s in image_shape)
    if len(shape) != 2 or min(shape) < MIN_SIDE:
        raise ConfigError(f"image_shape must be (height, width), each >= {MIN_SIDE}, got {tuple(image_shape)}")
    if slice_axis not in (0, 1, 2) or n_slices < 1:
        raise ConfigError(f"slice_axis must be 0, 1 or 2 and n_slices >= 1, got {slice_axis} and {n_slices}")
    return shape


def image_set(
    source: str | Path,
    image_shape: Sequence[int],
    channels: Sequence[str] | None = None,
    resize: bool = True,
    slice_axis: int = 2,
    n_slices: int = 1,
) -> list[dict]:
    """A datalist of 2-D images for GAN training, every file read and checked before it is returned.

    Args:
        source: a folder of pictures (PNG, JPEG, TIFF, BMP) and single-frame DICOM images (``.dcm``), one channel
            each; a folder of NIfTI volumes (``.nii``, ``.nii.gz``); or a ``.csv`` manifest with one column per
            channel and an optional ``subject_id`` column, paths relative to its folder (pictures, DICOM images or
            NIfTI volumes). A manifest's ``label`` (int) and ``mask`` (path, may be empty) columns are kept.
        image_shape: ``(height, width)`` the images are loaded at.
        channels: the manifest's image columns, one per channel. Defaults to None: the column ``image``.
        resize: images are resized to ``image_shape`` when loaded; when False every image must have exactly that
            size. Defaults to True.
        slice_axis: the axis volumes are sliced along, after reorienting them to RAS (2: axial). Defaults to 2.
        n_slices: slices taken around the centre of each volume. Defaults to 1.

    Returns:
        ``[{"image": [path, ...], "subject_id": str, "slice": int}, ...]``: one path per channel (absolute),
        the subject (the manifest's ``subject_id``, else the first channel's file name without suffix) and the
        volume slice (-1 for a 2-D file); sorted by file name for a folder, in row order for a manifest.

    Raises:
        ConfigError: ``image_shape``, ``slice_axis`` or ``n_slices`` out of range, several channels for a
            folder, or pydicom missing for a DICOM image.
        DataError: naming the first bad file: the source is missing or lists no image; a manifest lacks a channel
            column, has an empty cell or lists a missing file or one of an unknown type; an image is unreadable,
            truncated, damaged, constant, smaller than 8 pixels a side or, with ``resize`` False, not of
            ``image_shape``; the channels of one row differ in size; a volume has fewer than ``n_slices`` slices.
    """
    shape = _check_settings(image_shape, slice_axis, n_slices)
    source = Path(source).expanduser().absolute()
    if source.is_dir():
        entries = _folder_items(source, channels)
    elif source.is_file() and source.suffix.lower() == ".csv":
        entries = _manifest_items(source, channels)
    elif source.is_file():
        raise DataError(f"{source}: expected a folder of images or a .csv manifest")
    else:
        raise DataError(f"{source}: no such folder or manifest")
    return [
        item
        for paths, subject, extra in entries
        for item in _items(paths, subject, extra, shape, resize, slice_axis, n_slices)
    ]
