"""Reader for new scans to map: a plain folder of volumes and DICOM series, or a list of images without labels."""

from __future__ import annotations

from pathlib import Path

from medmonai.data.io import IMAGE_SUFFIXES, VOLUME_SUFFIXES, check_images, dicom_series_files
from medmonai.data.readers.manifests import read_datalist
from medmonai.errors import DataError
from medmonai.keys import Keys

__all__ = ["image_folder", "scan_datalist", "scan_folder"]


def _volume_name(path: Path) -> str | None:
    """The case name of a volume file (its name without the extension), or None for other files."""
    lower = path.name.lower()
    for suffix in VOLUME_SUFFIXES:
        if lower.endswith(suffix):
            return path.name[: -len(suffix)]
    return None


def _is_dicom_folder(folder: Path) -> bool:
    try:
        return bool(dicom_series_files(folder))
    except DataError:
        return False


def scan_folder(folder: str | Path) -> list[dict]:
    """One item per scan in ``folder``, sorted by name: ``{"image": path, "case_id": name}``.

    Scans are NIfTI, MetaImage and NRRD files, and sub-folders holding one DICOM series each (a folder that is
    itself one series is one scan). Nothing needs a label.

    Raises:
        DataError: the folder is missing or holds no scan, or two scans share a name.
    """
    folder = Path(folder).expanduser().absolute()
    if not folder.is_dir():
        raise DataError(f"{folder}: input_dir is not a folder")
    if _is_dicom_folder(folder):
        return [{Keys.IMAGE: str(folder), "case_id": folder.name}]
    items, seen = [], {}
    for path in sorted(folder.iterdir()):
        name = _volume_name(path) if path.is_file() else (path.name if _is_dicom_folder(path) else None)
        if name is None or path.name.startswith("."):
            continue
        if name in seen:
            raise DataError(f"{path}: two scans are named {name!r} (also {seen[name]}); rename one")
        seen[name] = path.name
        items.append({Keys.IMAGE: str(path), "case_id": name})
    if not items:
        raise DataError(f"{folder}: no scans (expected {', '.join(VOLUME_SUFFIXES)} files or DICOM series folders)")
    return items


def scan_datalist(input_dir: str = "", input_datalist: str = "") -> list[dict]:
    """The new scans of ``input_dir`` (see :func:`scan_folder`), or of a CSV/JSON list of them.

    The list needs ``image`` per scan and may give ``brain_mask`` (and a ``label`` lesion mask, which overlays then
    outline); an image may be a DICOM series folder.

    Raises:
        DataError: see :func:`scan_folder` and :func:`medmonai.data.read_datalist`; both or neither source given.
    """
    if bool(input_dir) == bool(input_datalist):
        raise DataError("give new scans as input_dir (a folder) or input_datalist (a CSV/JSON), not both or neither")
    if input_dir:
        return scan_folder(input_dir)
    return read_datalist(input_datalist, section="test", required_keys=(Keys.IMAGE,))


def image_folder(folder: str | Path, min_side: int = 8) -> list[dict]:
    """One item per 2-D image in ``folder`` (JPEG, PNG, TIFF, BMP), sorted by name, each checked up front.

    Items are ``{"image": path, "case_id": name}``; nothing needs a label.

    Raises:
        DataError: the folder is missing or holds no image, or an image is unreadable, truncated, too small or
            constant (every image is decoded here).
    """
    folder = Path(folder).expanduser().absolute()
    if not folder.is_dir():
        raise DataError(f"{folder}: input_dir is not a folder")
    paths = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
    if not paths:
        raise DataError(f"{folder}: no images (expected {', '.join(IMAGE_SUFFIXES)} files)")
    check_images(paths, min_side, decode=True)
    return [{Keys.IMAGE: str(p), "case_id": p.stem} for p in paths]
