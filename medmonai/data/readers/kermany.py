"""Reader for the Kermany OCT2017 layout: ``{train,test}/{CNV,DME,DRUSEN,NORMAL}/<CLASS>-<patient>-<n>.jpeg``."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from medmonai.data.io import check_images
from medmonai.data.readers.scans import image_folder
from medmonai.data.splits import split_by_group
from medmonai.data.synthetic.embedded_oct import embedded_oct
from medmonai.data.synthetic.retina import OCT_CLASSES
from medmonai.errors import ConfigError, DataError

__all__ = ["kermany_datalists", "patient_id"]

logger = logging.getLogger(__name__)
OCT_MIN_SIDE = 32  # OCT B-scans are hundreds of pixels wide; smaller is not a B-scan
_LAYOUT = "expected OCT2017/{train,test}/{CNV,DME,DRUSEN,NORMAL}/<CLASS>-<patient>-<n>.jpeg"
_WHERE = "Get it from https://data.mendeley.com/datasets/rscbjbr9sj (Kermany et al., Cell 2018)."
_SUFFIXES = (".jpeg", ".jpg")


def patient_id(path: str | Path) -> str:
    """The patient id of ``CNV-1016042-1.jpeg``: the middle token of the file name (``1016042``)."""
    parts = Path(path).stem.split("-")
    return "-".join(parts[1:-1]) if len(parts) >= 3 else Path(path).stem


def _class_files(root: Path, split: str) -> dict[str, list[Path]]:
    folder = root / split
    if not folder.is_dir():
        found = sorted(p.name for p in root.iterdir()) if root.is_dir() else []
        raise DataError(f"{root}: no {split}/ folder; {_LAYOUT}; found {found}. {_WHERE}")
    files = {}
    for name in OCT_CLASSES:
        class_dir = folder / name
        if not class_dir.is_dir():
            raise DataError(f"{folder}: no {name}/ folder; {_LAYOUT}; found {sorted(p.name for p in folder.iterdir())}")
        files[name] = sorted(p for p in class_dir.iterdir() if p.suffix.lower() in _SUFFIXES)
        if not files[name]:
            raise DataError(f"{class_dir}: empty class folder (no .jpeg images); {_LAYOUT}")
    return files


def _reference_500(files: dict[str, list[Path]], seed: int) -> list[tuple[Path, str]]:
    """Reference 001's test set: 200 normal images and 100 of each disease, drawn seeded from ``test``."""
    rng = np.random.default_rng(seed)
    chosen = []
    for name, n in (("NORMAL", 200), ("CNV", 100), ("DME", 100), ("DRUSEN", 100)):
        if len(files[name]) < n:
            raise DataError(
                f"{files[name][0].parent}: the reference test set needs {n} images, found {len(files[name])}"
            )
        chosen += [(files[name][i], name) for i in sorted(rng.choice(len(files[name]), n, replace=False))]
    return chosen


def kermany_datalists(
    dataset_dir: str | Path | None,
    val_fraction: float = 0.1,
    test_set: str = "all",
    seed: int = 0,
    cache_dir: str | Path | None = None,
    images_dir: str | Path | None = "",
) -> dict[str, list[dict]]:
    """Index an OCT2017 folder: NORMAL training images split by patient into train/val, and a test set.

    Args:
        dataset_dir: the ``OCT2017`` folder; empty or None: the embedded SYNTHETIC B-scans
            (:func:`medmonai.data.synthetic.embedded_oct`, generated once into ``cache_dir``).
        val_fraction: share of training NORMAL *patients* held out for validation. Defaults to 0.1.
        test_set: ``"all"`` (every ``test`` image) or ``"reference500"`` (200 normal + 100 per disease, as in
            reference 001). Defaults to ``"all"``.
        seed: seed of the patient split and the test draw. Defaults to 0.
        cache_dir: cache of the embedded default. Defaults to ``$MEDMONAI_CACHE`` or ``~/.cache/medmonai``.
        images_dir: new B-scans to score, a plain folder of images; given it, only ``{"images": [...]}`` is
            returned (items with an empty ``class``) and nothing else is read. Defaults to "".

    Returns:
        ``{"train", "val", "test"}`` lists of ``{"image": path, "label": int, "class": str, "patient": str}``;
        train and val hold NORMAL images only, and no patient is in both.

    Raises:
        DataError: a missing ``dataset_dir``, a wrong layout, an empty class folder, an unreadable image, or too
            few images.
        ConfigError: an unknown ``test_set`` or a ``val_fraction`` outside (0, 1).
    """
    if images_dir:
        items = [{**item, "class": "", "patient": ""} for item in image_folder(images_dir, OCT_MIN_SIDE)]
        logger.info(f"new images: {len(items)} in {images_dir}")
        return {"images": items}
    if test_set not in ("all", "reference500") or not 0.0 < val_fraction < 1.0:
        raise ConfigError(f"test_set must be all or reference500 and 0 < val_fraction < 1, got {test_set!r}")
    if not dataset_dir:
        dataset_dir = embedded_oct(cache_dir)
        logger.warning(f"no dataset_dir: using the embedded SYNTHETIC OCT B-scans in {dataset_dir}")
    root = Path(dataset_dir).expanduser()
    if not root.is_dir():
        raise DataError(f"{root}: dataset_dir does not exist. {_WHERE} Layout: {_LAYOUT}")
    train_files, test_files = _class_files(root, "train"), _class_files(root, "test")
    train, val = split_by_group(train_files["NORMAL"], patient_id, val_fraction, seed)
    if test_set == "all":
        test = [(p, name) for name in OCT_CLASSES for p in test_files[name]]
    else:
        test = _reference_500(test_files, seed)

    check_images(train + val + [p for p, _ in test], OCT_MIN_SIDE)

    def item(path: Path, name: str) -> dict:
        return {"image": str(path), "label": OCT_CLASSES.index(name), "class": name, "patient": patient_id(path)}

    lists = {
        "train": [item(p, "NORMAL") for p in train],
        "val": [item(p, "NORMAL") for p in val],
        "test": [item(p, n) for p, n in test],
    }
    logger.info(f"OCT2017 {root}: " + ", ".join(f"{k} {len(v)}" for k, v in lists.items()))
    return lists
