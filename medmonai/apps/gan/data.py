"""The ``medical_gan`` bundle's data: training, healthy validation and test image lists, split by subject.

Without a ``dataset_dir`` the embedded brain slices are used (T1 and T2 of one synthetic subject as two aligned
channels, a healthy validation set, and a test set of healthy slices and slices with lesions from the test lesion
generator, with masks). A user's ``dataset_dir`` is one of:

- a MedMNIST ``.npz`` (e.g. ``pneumoniamnist.npz``): training and validation images are the normal-class images of
  its own ``train`` and ``val`` splits, and its ``test`` split is the labelled test set (``label`` 0 for the normal
  classes, 1 for the others; no masks). The normal classes are ``normal_classes``, or by the file's name
  (:func:`medmonai.data.readers.medmnist.medmnist_normal_classes`: PneumoniaMNIST 0, OCTMNIST 3). The images are
  written once as lossless PNGs into ``cache_dir``, under a name holding the file's SHA-256, since the loading
  transforms read files;
- a Kermany ``OCT2017`` folder (``train/NORMAL`` and the other classes, read by
  :func:`medmonai.data.readers.kermany_datalists`): NORMAL training B-scans split by patient into train and
  validation, and every ``test`` image labelled 0 (NORMAL) or 1 (CNV, DME, DRUSEN);
- anything else: a folder of pictures or DICOM images, a CSV manifest with one column per channel, or a folder of
  NIfTI volumes, split by ``subject_id`` into train and a healthy validation share; a labelled test set for
  ``evaluate.yaml`` comes from ``test_manifest`` (a CSV with ``label`` and optional ``mask`` columns).

A ``test_manifest`` given with a MedMNIST file or an OCT2017 folder replaces their own test split.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from medmonai.data.cache import cached_folder
from medmonai.data.io import unit_range
from medmonai.data.readers.arrays import SplitArrays
from medmonai.data.readers.image_sets import image_set
from medmonai.data.readers.kermany import kermany_datalists
from medmonai.data.readers.medmnist import medmnist_normal_classes, read_medmnist
from medmonai.data.splits import split_by_group
from medmonai.data.synthetic.embedded_slices import embedded_brain_slices
from medmonai.data.synthetic.retina import OCT_CLASSES
from medmonai.errors import ConfigError, DataError
from medmonai.keys import Keys

__all__ = ["EMBEDDED_CHANNELS", "channel_names", "gan_datalists", "labelled_test_set"]

logger = logging.getLogger(__name__)
EMBEDDED_CHANNELS = ("t1", "t2")
_SPLITS = ("train", "val", "test")
_PNG_LAYOUT = 1  # bump when the cached MedMNIST PNG folder changes, so an old one is never reused


def gan_datalists(
    dataset_dir: str | Path,
    image_shape: Sequence[int],
    channels: Sequence[str] | str | None = None,
    resize: bool = True,
    val_fraction: float = 0.1,
    seed: int = 0,
    cache_dir: str | Path | None = None,
    test_manifest: str | Path = "",
    n_slices: int = 1,
    normal_classes: str | int | Sequence[int] | None = "auto",
) -> dict[str, list[dict]]:
    """``{"train", "val", "test"}`` datalists of ``{"image": [path per channel], "subject_id", ...}`` items.

    Args:
        dataset_dir: the images (see the module docstring): a MedMNIST ``.npz``, an ``OCT2017`` folder (it holds
            ``train/NORMAL``), a folder of images or NIfTI volumes, or a CSV manifest; empty: the embedded brain
            slices.
        image_shape: ``(H, W)`` the networks generate.
        channels: manifest columns, one per channel; None: ``image`` (embedded: ``t1`` and ``t2``; MedMNIST and
            OCT2017 images have one channel).
        resize: resize images to ``image_shape``; else every image must have that shape.
        val_fraction: share of subjects (OCT2017: patients) held out as healthy validation images; a MedMNIST
            file keeps its own ``val`` split. Defaults to 0.1.
        seed: the split's seed. Defaults to 0.
        cache_dir: where the embedded slices are generated and a MedMNIST file's PNGs are written. Defaults to
            None: ``$MEDMONAI_CACHE`` or ``~/.cache/medmonai``.
        test_manifest: a labelled test CSV (``label`` 0/1, optional ``mask``) for a user's data; with a MedMNIST
            file or an OCT2017 folder it replaces their test split. Defaults to "".
        n_slices: central slices taken from each NIfTI volume. Defaults to 1.
        normal_classes: a MedMNIST file's normal labels (e.g. ``"0"`` or ``[0, 1]``, ``"all"``); ``"auto"``:
            PneumoniaMNIST 0, OCTMNIST 3, as ``medmnist_ae_anomaly`` trains them. Defaults to ``"auto"``.

    Raises:
        ConfigError: a channel list given as something else than names, several channels for a MedMNIST file or
            an OCT2017 folder, or ``normal_classes`` that cannot be inferred from the file name.
        DataError: from the reader, naming the bad file; a MedMNIST split without a normal image; with
            ``resize`` False, an image not of ``image_shape``.
    """
    channels = [channels] if isinstance(channels, str) and channels else list(channels or []) or None
    shape = tuple(int(s) for s in image_shape)
    if len(shape) != 2:
        raise ConfigError(f"image_shape must be [height, width], got {list(image_shape)}")
    if not dataset_dir:
        folder = embedded_brain_slices(cache_dir or None, image_size=max(shape), seed=seed)
        columns = channels or list(EMBEDDED_CHANNELS)
        lists = {split: image_set(folder / f"{split}.csv", shape, columns, resize) for split in _SPLITS}
        logger.info(
            f"embedded brain slices ({', '.join(columns)}): " + ", ".join(f"{k} {len(v)}" for k, v in lists.items())
        )
        return lists
    source = Path(dataset_dir).expanduser()
    if source.name.lower().endswith(".npz") or (source / "train" / "NORMAL").is_dir():
        if channels is not None and len(channels) != 1:
            raise ConfigError(f"{source}: MedMNIST and OCT2017 images have one channel; got channels {channels}")
        if source.name.lower().endswith(".npz"):
            lists = _medmnist_lists(source, shape, resize, normal_classes, cache_dir)
        else:
            lists = _oct2017_lists(source, shape, resize, val_fraction, seed)
        if test_manifest:
            lists["test"] = image_set(test_manifest, shape, channels, resize)
        logger.info(f"{source}: " + ", ".join(f"{k} {len(v)}" for k, v in lists.items()))
        return lists
    items = image_set(dataset_dir, shape, channels, resize, n_slices=n_slices)
    train, val = split_by_group(items, lambda item: item["subject_id"], val_fraction, seed)
    test = image_set(test_manifest, shape, channels, resize) if test_manifest else []
    logger.info(f"{dataset_dir}: train {len(train)}, val {len(val)} (by subject), test {len(test)}")
    return {"train": train, "val": val, "test": test}


def _item(path: str | Path, subject: str, label: int, kind: str | int) -> dict:
    """One single-channel item, as :func:`~medmonai.data.readers.image_set` makes them, with its class."""
    return {str(Keys.IMAGE): [str(path)], "subject_id": subject, "slice": -1, str(Keys.LABEL): label, "class": kind}


def _medmnist_lists(
    path: Path,
    shape: tuple[int, int],
    resize: bool,
    normal_classes: str | int | Sequence[int] | None,
    cache_dir: str | Path | None,
) -> dict[str, list[dict]]:
    """Normal ``train`` and ``val`` images and the whole labelled ``test`` split of a MedMNIST file, as PNG items."""
    arrays = read_medmnist(path)
    classes = medmnist_normal_classes(path, normal_classes)
    normal = {s: np.ones(len(y), bool) if classes is None else np.isin(y, classes) for s, y in arrays.labels.items()}
    for split in ("train", "val"):
        if not normal[split].any():
            found = sorted(int(c) for c in np.unique(arrays.labels[split]))
            raise DataError(f"{path}: no {split} image of the normal classes {classes}; its labels are {found}")
    size = tuple(arrays.images["train"].shape[1:])
    if not resize and size != shape:
        raise DataError(
            f"{path}: images are {size[0]}x{size[1]}, expected {shape[0]}x{shape[1]} (set --resize true to resize)"
        )
    chosen = {"train": np.flatnonzero(normal["train"]), "val": np.flatnonzero(normal["val"])}
    chosen["test"] = np.arange(len(arrays.labels["test"]))
    folder = _png_folder(path, arrays, chosen, classes, cache_dir)
    lists = {}
    for split, indices in chosen.items():
        labels, stems = arrays.labels[split], [_stem(split, i) for i in indices]
        lists[split] = [
            _item(folder / split / f"{stem}.png", stem, int(not normal[split][i]), int(labels[i]))
            for stem, i in zip(stems, indices, strict=True)
        ]
    return lists


def _stem(split: str, index: int) -> str:
    """A MedMNIST image's name: its split and its index there (each image is its own subject)."""
    return f"{split}_{index:06d}"


def _png(image: np.ndarray) -> bytes:
    """Lossless PNG bytes of one ``(H, W)`` image: 8-bit as it is, other data scaled to [0, 1] and stored 16-bit."""
    if image.dtype != np.uint8:
        image = np.round(np.clip(unit_range(image), 0.0, 1.0) * 65535.0).astype(np.uint16)
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="PNG")
    return buffer.getvalue()


def _png_folder(
    path: Path,
    arrays: SplitArrays,
    chosen: dict[str, np.ndarray],
    classes: list[int] | None,
    cache_dir: str | Path | None,
) -> Path:
    """The folder of the chosen images as PNGs, ``<split>/<split>_<index>.png``, written once per file content."""
    sha = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            sha.update(block)
    digest = sha.hexdigest()[:16]
    tag = "all" if classes is None else "-".join(map(str, classes))

    def write(staging: Path) -> None:
        for split, indices in chosen.items():
            (staging / split).mkdir()
            for i in indices:
                (staging / split / f"{_stem(split, i)}.png").write_bytes(_png(arrays.images[split][i]))
        counts = {split: len(indices) for split, indices in chosen.items()}
        record = {"source": str(path), "sha256_16": digest, "normal_classes": classes, "images": counts}
        (staging / "dataset.json").write_text(json.dumps(record, indent=1))

    name = Path("medmnist_png") / f"{path.stem}_{digest}_normal{tag}_v{_PNG_LAYOUT}"
    return cached_folder(cache_dir, name, "dataset.json", write, f"{path}: writing its images once as PNGs")


def _oct2017_lists(
    root: Path, shape: tuple[int, int], resize: bool, val_fraction: float, seed: int
) -> dict[str, list[dict]]:
    """NORMAL train/val B-scans split by patient and the whole ``test`` folder, labelled 0 NORMAL, 1 disease."""
    normal = OCT_CLASSES.index("NORMAL")
    lists = {
        split: [
            _item(item[Keys.IMAGE], item["patient"], int(item[Keys.LABEL] != normal), item["class"]) for item in items
        ]
        for split, items in kermany_datalists(root, val_fraction=val_fraction, seed=seed).items()
    }
    if not resize:
        _check_sizes([item[Keys.IMAGE][0] for split in _SPLITS for item in lists[split]], shape)
    return lists


def _check_sizes(paths: Sequence[str], shape: tuple[int, int]) -> None:
    """Refuse the first image (read by its header) not of ``shape``, for training without resizing."""
    for path in paths:
        try:
            with Image.open(path) as image:
                width, height = image.size
        except (OSError, UnidentifiedImageError) as e:
            raise DataError(f"{path}: unreadable image ({e})") from e
        if (height, width) != shape:
            raise DataError(
                f"{path}: image is {height}x{width}, expected {shape[0]}x{shape[1]} (set --resize true to resize)"
            )


def labelled_test_set(lists: dict[str, list[dict]]) -> list[dict]:
    """The test list, checked to hold healthy (``label`` 0) and lesion (``label`` 1) images.

    Raises:
        DataError: no test list, or one without both labels.
    """
    labels = {int(item.get("label", -1)) for item in lists.get("test", [])}
    if not {0, 1} <= labels:
        raise DataError(
            "evaluate.yaml needs a labelled test set with healthy (label 0) and lesion (label 1) images; pass "
            "--test_manifest <CSV with image columns, label and optional mask>"
        )
    return lists["test"]


def channel_names(channels: Sequence[str] | str | None, dataset_dir: str | Path) -> list[str] | None:
    """The manifest's channel columns, the embedded contrasts, or None (a plain folder's one unnamed channel)."""
    if isinstance(channels, str) and channels:
        return [channels]
    if channels:
        return list(channels)
    return None if dataset_dir else list(EMBEDDED_CHANNELS)
