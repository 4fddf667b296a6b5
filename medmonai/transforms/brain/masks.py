"""Brain masks for datalist items that come without one, extracted once per image file and cached.

:func:`add_brain_masks` runs :mod:`~medmonai.transforms.brain.network` (deepbet's CNN) or
:mod:`~medmonai.transforms.brain.registration` (the MNI152 template) on each skull-on image and writes the mask on
the image's own grid.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
from pathlib import Path

import nibabel as nib
import numpy as np
import SimpleITK as sitk
from tqdm import tqdm

from medmonai.data.io import load_volume, ras_affine
from medmonai.data.synthetic.template import default_cache_dir
from medmonai.errors import ConfigError, DataError, reason
from medmonai.keys import Keys
from medmonai.transforms.brain.network import NetworkBrainExtractor
from medmonai.transforms.brain.registration import extract_brain

EXTRACTORS = ("network", "registration")

__all__ = ["add_brain_masks"]

logger = logging.getLogger(__name__)


def _cache_name(path: Path, method: str, resolution: int) -> str:
    """A name that changes whenever the file does (path, size and modification time) or the method."""
    stat = path.stat()
    key = f"{path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}|{method}|res{resolution}|v2"
    return hashlib.sha256(key.encode()).hexdigest()[:24] + "_brain.nii.gz"


def _registration_mask(image_path: Path, resolution: int) -> nib.Nifti1Image:
    try:
        image = sitk.ReadImage(str(image_path), sitk.sitkFloat32)
    except RuntimeError as e:
        raise DataError(f"{image_path}: cannot be read ({reason(e, last_chars=120)})") from e
    mask = extract_brain(image, resolution=resolution, source=str(image_path)).mask
    array = np.ascontiguousarray(sitk.GetArrayFromImage(mask).transpose(2, 1, 0), np.uint8)
    return nib.Nifti1Image(array, ras_affine(mask).numpy())


def _network_mask(image_path: Path, device: str) -> nib.Nifti1Image:
    volume = load_volume(image_path)
    affine = volume.affine.numpy()
    return nib.Nifti1Image(NetworkBrainExtractor(device)(volume[0].numpy(), affine, str(image_path)), affine)


def _write(mask: nib.Nifti1Image, out: Path) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=out.parent, prefix=".mask-", suffix=".nii.gz")
    os.close(fd)
    try:
        mask.header.set_data_dtype(np.uint8)
        nib.save(mask, tmp)
        os.replace(tmp, out)
    finally:
        Path(tmp).unlink(missing_ok=True)


def add_brain_masks(
    items: list[dict],
    cache_dir: str | Path | None = None,
    resolution: int = 2,
    method: str = "network",
    failures: list[dict] | None = None,
    device: str = "cpu",
) -> list[dict]:
    """Give every item without a ``brain_mask`` one, extracted from its skull-on image.

    Masks are written on the image's own grid into ``<cache_dir>/brain_masks/``, named after the image file's path,
    size and modification time and the method, so each file is extracted once. Items that have a mask are left as
    they are.

    Args:
        items: datalist items with absolute ``image`` paths.
        cache_dir: the cache folder. Defaults to ``$MEDMONAI_CACHE`` or ``~/.cache/medmonai``.
        resolution: template resolution in mm for ``registration``, 1 or 2. Defaults to 2.
        method: ``network`` (deepbet's CNN, :class:`~medmonai.transforms.brain.network.NetworkBrainExtractor`;
            any orientation and slice thickness, 2-6 s a head on 2 CPU cores) or ``registration`` (the MNI152
            template registered onto the head). Defaults to "network".
        failures: when given, an item whose extraction fails is left out of the result and appended here with its
            one-line ``reason``, so the other items can go on; when None, the first failure raises. Defaults to None.
        device: where the network runs. Defaults to "cpu".

    Returns:
        The items (less any failures), those that lacked a mask now with ``brain_mask`` set.

    Raises:
        ConfigError: an unknown method, or deepbet is not installed.
        DataError: (``failures`` None) an image cannot be read, or its extraction failed.
    """
    if method not in EXTRACTORS:
        raise ConfigError(f"brain_extractor must be one of {', '.join(EXTRACTORS)}, got {method!r}")
    folder = Path(cache_dir or default_cache_dir()) / "brain_masks"
    todo = [item for item in items if not item.get(Keys.BRAIN_MASK)]
    failed = set()
    for item in tqdm(todo, desc="brain extraction", disable=len(todo) < 2):
        image = Path(item[Keys.IMAGE])
        out = folder / _cache_name(image, method, resolution)
        if not out.is_file():
            try:
                mask = _network_mask(image, device) if method == "network" else _registration_mask(image, resolution)
            except DataError as e:
                if failures is None:
                    raise
                logger.error(str(e))
                failures.append({**item, "reason": str(e)})
                failed.add(id(item))
                continue
            _write(mask, out)
        item[Keys.BRAIN_MASK] = str(out)
    if todo:
        logger.info(f"brain masks ({method}) for {len(todo) - len(failed)} volumes in {folder}")
    return [item for item in items if id(item) not in failed]
