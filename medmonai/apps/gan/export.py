"""Synthetic training data from a trained generator, in layouts the other bundles read.

:func:`export_samples` writes, all at once (an existing export is replaced only when the new one is complete):

- ``images/sample_<n>_<channel>.png``: 8-bit, one file per channel;
- ``manifest.csv``: ``subject_id``, one column per channel, ``label`` (0: every sample is a healthy-looking image),
  the CSV layout this bundle's own ``--dataset_dir`` and ``--channels`` read;
- ``dataset.json``: decathlon style, ``training`` items with ``image`` (one path per channel), marked synthetic;
- ``synthetic_medmnist.npz``: one channel (``npz_channel``) as a MedMNIST file (``train``/``val``/``test``
  images and labels, 80/10/10, label 0), for ``medmnist_ae_anomaly --dataset_name medmnist --normal_classes 0``.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import os
import shutil
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch import nn

from medmonai.apps.gan.quality import sample_images
from medmonai.errors import ConfigError
from medmonai.utils.outputs import atomic_directory

__all__ = ["export_samples"]

logger = logging.getLogger(__name__)


def _uint8(images: torch.Tensor) -> np.ndarray:
    """``[-1, 1]`` images as 8-bit."""
    return np.round((images.clamp(-1, 1).numpy() + 1) * 127.5).astype(np.uint8)


def export_samples(
    generator: nn.Module,
    n: int,
    output_dir: str | Path,
    channel_names: Sequence[str] | None = None,
    seed: int = 0,
    npz_channel: int = 0,
    batch_size: int = 64,
) -> Path:
    """Write ``n`` samples of ``generator`` (see the module docstring); returns ``output_dir``.

    Args:
        generator: the trained (averaged) generator.
        n: how many samples, >= 10 (the npz needs a test share).
        output_dir: the export folder (replaced as a whole).
        channel_names: a name per channel, e.g. the training manifest's columns. Defaults to ``image``,
            ``image_1``, ...
        seed: the latents' seed (a different seed gives different samples). Defaults to 0.
        npz_channel: the channel written to the MedMNIST npz. Defaults to 0.
        batch_size: generation batch. Defaults to 64.

    Raises:
        ConfigError: ``n`` < 10, a channel name per channel missing, or ``npz_channel`` out of range.
    """
    if n < 10:
        raise ConfigError(f"n_export must be >= 10, got {n}")
    channels = int(generator.out_channels)
    names = list(channel_names or ["image"] + [f"image_{c}" for c in range(1, channels)])
    if len(names) != channels or not 0 <= npz_channel < channels:
        raise ConfigError(f"{channels} channel(s) need {channels} names (got {names}) and npz_channel < {channels}")
    images = _uint8(sample_images(generator, n, seed, batch_size))
    output_dir = Path(output_dir)
    fresh, old = output_dir.with_name(f".{output_dir.name}.new"), output_dir.with_name(f".{output_dir.name}.old")
    for stale in (fresh, old):  # left by a killed export
        shutil.rmtree(stale, ignore_errors=True)
    with atomic_directory(fresh) as staging:
        (staging / "images").mkdir()
        rows, items = [], []
        for i, sample in enumerate(images):
            paths = [f"images/sample_{i:05d}_{name}.png" for name in names]
            for path, plane in zip(paths, sample, strict=True):
                Image.fromarray(plane).save(staging / path)
            rows.append([f"sample_{i:05d}", *paths, 0])
            items.append({"image": paths, "subject_id": f"sample_{i:05d}", "label": 0})
        table = io.StringIO()
        writer = csv.writer(table, lineterminator="\n")
        writer.writerow(["subject_id", *names, "label"])
        writer.writerows(rows)
        (staging / "manifest.csv").write_text(table.getvalue(), encoding="utf-8")
        dataset = {"name": "medical_gan synthetic samples", "synthetic": True, "seed": seed, "channels": names}
        (staging / "dataset.json").write_text(json.dumps({**dataset, "training": items}, indent=1), encoding="utf-8")
        planes = images[:, npz_channel]
        cut = [int(0.8 * n), int(0.9 * n)]
        splits = dict(zip(("train", "val", "test"), np.split(planes, cut), strict=True))
        arrays = {f"{k}_images": v for k, v in splits.items()}
        arrays.update({f"{k}_labels": np.zeros((len(v), 1), np.uint8) for k, v in splits.items()})
        np.savez_compressed(staging / "synthetic_medmnist.npz", **arrays)
    if output_dir.exists():  # swap: the earlier export stays whole until the new one is in place
        os.replace(output_dir, old)
    os.replace(fresh, output_dir)
    shutil.rmtree(old, ignore_errors=True)
    logger.info(f"exported {n} synthetic samples ({', '.join(names)}) to {output_dir}")
    return output_dir
