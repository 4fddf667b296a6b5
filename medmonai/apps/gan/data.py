"""The ``medical_gan`` bundle's data: training, healthy validation and test image lists, split by subject.

Without a ``dataset_dir`` the embedded brain slices are used (T1 and T2 of one synthetic subject as two aligned
channels, a healthy validation set, and a test set of healthy slices and slices with lesions from the test lesion
generator, with masks). A user's ``dataset_dir`` (a folder of pictures or DICOM images, a CSV manifest with one
column per channel, or a folder of NIfTI volumes) is split by ``subject_id`` into train and a healthy validation
share; a labelled test set for ``evaluate.yaml`` comes from ``test_manifest`` (a CSV with ``label`` and optional
``mask`` columns).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

from medmonai.data.readers.image_sets import image_set
from medmonai.data.splits import split_by_group
from medmonai.data.synthetic.embedded_slices import embedded_brain_slices
from medmonai.errors import ConfigError, DataError

__all__ = ["EMBEDDED_CHANNELS", "channel_names", "gan_datalists", "labelled_test_set"]

logger = logging.getLogger(__name__)
EMBEDDED_CHANNELS = ("t1", "t2")


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
) -> dict[str, list[dict]]:
    """``{"train", "val", "test"}`` datalists of ``{"image": [path per channel], "subject_id", ...}`` items.

    Args:
        dataset_dir: the images (see the module docstring); empty: the embedded brain slices.
        image_shape: ``(H, W)`` the networks generate.
        channels: manifest columns, one per channel; None: ``image`` (embedded: ``t1`` and ``t2``).
        resize: resize images to ``image_shape``; else every image must have that shape.
        val_fraction: share of subjects held out as healthy validation images (a user's data). Defaults to 0.1.
        seed: the split's seed. Defaults to 0.
        cache_dir: where the embedded slices are generated. Defaults to None.
        test_manifest: a labelled test CSV (``label`` 0/1, optional ``mask``) for a user's data. Defaults to "".
        n_slices: central slices taken from each NIfTI volume. Defaults to 1.

    Raises:
        ConfigError: a channel list given as something else than names.
        DataError: from the reader, naming the bad file.
    """
    channels = [channels] if isinstance(channels, str) and channels else list(channels or []) or None
    shape = tuple(int(s) for s in image_shape)
    if len(shape) != 2:
        raise ConfigError(f"image_shape must be [height, width], got {list(image_shape)}")
    if not dataset_dir:
        folder = embedded_brain_slices(cache_dir or None, image_size=max(shape), seed=seed)
        columns = channels or list(EMBEDDED_CHANNELS)
        lists = {
            split: image_set(folder / f"{split}.csv", shape, columns, resize) for split in ("train", "val", "test")
        }
        logger.info(
            f"embedded brain slices ({', '.join(columns)}): " + ", ".join(f"{k} {len(v)}" for k, v in lists.items())
        )
        return lists
    items = image_set(dataset_dir, shape, channels, resize, n_slices=n_slices)
    train, val = split_by_group(items, lambda item: item["subject_id"], val_fraction, seed)
    test = image_set(test_manifest, shape, channels, resize) if test_manifest else []
    logger.info(f"{dataset_dir}: train {len(train)}, val {len(val)} (by subject), test {len(test)}")
    return {"train": train, "val": val, "test": test}


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
