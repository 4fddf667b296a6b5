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

Files are read by :mod:`medmonai.data.io`, which :class:`~medmonai.transforms.LoadImageChannels` loads them with
too (:func:`~medmonai.data.io.load_plane`); both agree on what a file holds, so whatever passes the checks here
also loads.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from medmonai.data.io import (
    PLANE_SUFFIXES,
    check_images,
    file_stem,
    plane_kind,
    read_csv_rows,
    read_dicom_plane,
    read_nifti_ras,
    read_picture,
    volume_plane,
)
from medmonai.errors import ConfigError, DataError
from medmonai.keys import Keys

__all__ = ["image_set"]

MIN_SIDE = 8  # pixels; a smaller image has nothing to learn from
SUBJECT_KEY = "subject_id"
SLICE_KEY = "slice"


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
    kinds = {plane_kind(p) == "volume" for p in paths}
    if len(kinds) > 1:
        raise DataError(f"{paths[0]}: a volume and a 2-D image are channels of one item; use one or the other")
    slices, reference = [-1], None
    for path in paths:
        if plane_kind(path) == "volume":
            volume = read_nifti_ras(path)
            extent = volume.shape[slice_axis]
            if extent < n_slices:
                raise DataError(
                    f"{path}: {extent} slices along axis {slice_axis}, fewer than n_slices={n_slices} "
                    f"(volume shape {volume.shape})"
                )
            slices = _central_slices(extent, n_slices)
            for index in slices:
                _check_plane(path, volume_plane(volume, slice_axis, index), image_shape, resize, f"slice {index}")
            shape = tuple(volume.shape)
        else:
            if plane_kind(path) == "picture":
                check_images([path], min_side=1)  # the header, and a JPEG's end-of-image marker
                plane = read_picture(path)[0]
            else:
                plane = read_dicom_plane(path)
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
    paths = sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith(".") and plane_kind(p))
    if not paths:
        raise DataError(f"{folder}: no images (expected {', '.join(PLANE_SUFFIXES)} files)")
    return [([p], file_stem(p), {}) for p in paths]


def _manifest_items(manifest: Path, channels: Sequence[str] | None) -> list[tuple[list[Path], str, dict]]:
    columns, rows = read_csv_rows(manifest)
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
            if plane_kind(path) is None:
                raise DataError(
                    f"{path}: unsupported image type (listed in {manifest}, line {line}; "
                    f"expected one of {', '.join(PLANE_SUFFIXES)})"
                )
            if not path.is_file():
                raise DataError(f"{path}: listed in {manifest} (line {line}, column {column!r}) but missing")
            paths.append(path)
        entries.append((paths, row.get(SUBJECT_KEY) or file_stem(paths[0]), _row_extras(manifest, line, row, columns)))
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
