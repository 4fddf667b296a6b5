"""Datalist manifests: decathlon-style JSON and CSV files listing image (and mask) paths."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from medmonai.data.io import read_csv_rows
from medmonai.errors import DataError
from medmonai.keys import Keys

__all__ = ["PATH_KEYS", "read_datalist"]

PATH_KEYS = (Keys.IMAGE, Keys.BRAIN_MASK, Keys.LABEL)


def _json_items(path: Path, section: str | None) -> list:
    try:
        content = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise DataError(f"{path}: malformed JSON ({e})") from e
    if isinstance(content, list):
        return content
    if not isinstance(content, dict):
        raise DataError(f"{path}: expected a JSON object or list, got {type(content).__name__}")
    if section is None or section not in content:
        lists = [k for k, v in content.items() if isinstance(v, list)]
        raise DataError(f"{path}: no section {section!r}; its lists are {lists}")
    return content[section]


def _csv_items(path: Path) -> list:
    _, rows = read_csv_rows(path)
    return [{k: v for k, v in row.items() if k and v} for row in rows]


def read_datalist(
    path: str | Path, section: str | None = None, required_keys: Sequence[str] = (Keys.IMAGE,)
) -> list[dict]:
    """Read a datalist from a decathlon-style JSON (``{"training": [{"image": ...}, ...]}``) or a CSV with a header.

    Relative paths under ``image``, ``brain_mask`` and ``label`` are resolved against the manifest's folder, as
    MONAI's ``load_decathlon_datalist`` does; every listed file must exist.

    Args:
        path: the ``.json`` or ``.csv`` manifest.
        section: JSON key of the list (e.g. ``"training"``); ignored for CSV and for a top-level JSON list.
            Defaults to None.
        required_keys: keys every item must have. Defaults to ``("image",)``.

    Returns:
        ``[{"image": str, ...}, ...]`` with absolute paths; other columns are kept as strings.

    Raises:
        DataError: the manifest is missing, malformed or empty, an item lacks a required key, or a listed file is
            missing.
    """
    path = Path(path).expanduser()
    if not path.is_file():
        raise DataError(f"{path}: datalist file not found")
    raw = _csv_items(path) if path.suffix.lower() == ".csv" else _json_items(path, section)
    if not isinstance(raw, list) or not raw:
        where = f" section {section!r}" if section and path.suffix.lower() != ".csv" else ""
        raise DataError(f"{path}:{where} lists no items")
    items = []
    for i, entry in enumerate(raw):
        if not isinstance(entry, dict):
            raise DataError(f"{path}: item {i} must be an object with an 'image' path, got {entry!r}")
        missing = [str(k) for k in required_keys if not entry.get(k)]
        if missing:
            raise DataError(f"{path}: item {i} lacks {missing}; it has {sorted(entry)}")
        item = dict(entry)
        for key in PATH_KEYS:
            if item.get(key):
                file = Path(item[key]).expanduser()
                file = file if file.is_absolute() else path.parent / file
                if not file.exists():  # a file, or a DICOM series folder
                    raise DataError(f"{file}: listed in {path} (item {i}, {key}) but missing")
                item[key] = str(file)
        items.append(item)
    return items
