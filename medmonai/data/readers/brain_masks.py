"""Brain masks for volumes that come without one: template registration, run once per file and cached."""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
from pathlib import Path

import SimpleITK as sitk
from tqdm import tqdm

from medmonai.data.synthetic.template import default_cache_dir
from medmonai.errors import DataError, reason
from medmonai.keys import Keys
from medmonai.transforms.brain.registration import extract_brain  # not the package: it imports medmonai.data

__all__ = ["add_brain_masks"]

logger = logging.getLogger(__name__)


def _cache_name(path: Path, resolution: int) -> str:
    """A name that changes whenever the file does (path, size and modification time)."""
    stat = path.stat()
    key = f"{path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}|res{resolution}|v1"
    return hashlib.sha256(key.encode()).hexdigest()[:24] + "_brain.nii.gz"


def _extract(image_path: Path, out: Path, resolution: int) -> None:
    try:
        image = sitk.ReadImage(str(image_path), sitk.sitkFloat32)
    except RuntimeError as e:
        raise DataError(f"{image_path}: cannot be read ({reason(e, last_chars=120)})") from e
    mask = extract_brain(image, resolution=resolution, source=str(image_path)).mask
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=out.parent, prefix=".mask-", suffix=".nii.gz")
    os.close(fd)
    try:
        sitk.WriteImage(mask, tmp, True)
        os.replace(tmp, out)
    finally:
        Path(tmp).unlink(missing_ok=True)


def add_brain_masks(items: list[dict], cache_dir: str | Path | None = None, resolution: int = 2) -> list[dict]:
    """Give every item without a ``brain_mask`` one, by registering the MNI152 template onto its skull-on image.

    Masks are written on the image's own grid into ``<cache_dir>/brain_masks/``, named after the image file's path,
    size and modification time, so each file is registered once. Items that have a mask are left as they are.

    Args:
        items: datalist items with absolute ``image`` paths.
        cache_dir: the cache folder. Defaults to ``$MEDMONAI_CACHE`` or ``~/.cache/medmonai``.
        resolution: template resolution in mm, 1 or 2. Defaults to 2.

    Returns:
        The items, those that lacked a mask now with ``brain_mask`` set.

    Raises:
        DataError: an image cannot be read, is too small to register, or its registration diverged.
    """
    folder = Path(cache_dir or default_cache_dir()) / "brain_masks"
    todo = [item for item in items if not item.get(Keys.BRAIN_MASK)]
    for item in tqdm(todo, desc="brain extraction", disable=len(todo) < 2):
        image = Path(item[Keys.IMAGE])
        out = folder / _cache_name(image, resolution)
        if not out.is_file():
            _extract(image, out, resolution)
        item[Keys.BRAIN_MASK] = str(out)
    if todo:
        logger.info(f"brain masks for {len(todo)} volumes in {folder}")
    return items
