"""In-memory image arrays split as their source ships them, and the datalist items made from them."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from medmonai.errors import DataError
from medmonai.keys import Keys

__all__ = ["MIN_SIDE", "SplitArrays", "array_datalist"]

MIN_SIDE = 8  # smaller than this is not an image any network here can read


@dataclass(frozen=True)
class SplitArrays:
    """Images and labels of an array data set (MNIST, MedMNIST, scikit-learn digits), split as it ships.

    Attributes:
        images: ``{split: (N, H, W)}``, uint8 in [0, 255] or float in [0, 1]. The splits are the source's own:
            ``train``/``test`` (MNIST), ``train``/``val``/``test`` (MedMNIST) or ``all`` (unsplit).
        labels: ``{split: (N,)}`` int64 class labels.
        source: where the arrays came from, for logs and error messages.
    """

    images: dict[str, np.ndarray]
    labels: dict[str, np.ndarray]
    source: str

    def __post_init__(self) -> None:
        """Refuse non-finite, constant and too small images, naming the source, the split and the first image."""
        for split, images in self.images.items():
            if images.ndim != 3 or min(images.shape[1:], default=0) < MIN_SIDE:
                shape = tuple(images.shape)
                raise DataError(f"{self.source}: {split} images must be (N, H, W) with H, W >= {MIN_SIDE}, got {shape}")
            if np.issubdtype(images.dtype, np.floating):
                bad = ~np.isfinite(images.reshape(len(images), -1)).all(1)
                if bad.any():
                    raise DataError(
                        f"{self.source}: {split} image {int(np.argmax(bad))} holds NaN or infinite values "
                        f"({int(bad.sum())} images in all)"
                    )
            flat = images.reshape(len(images), -1)
            constant = flat.min(1) == flat.max(1) if len(images) else np.zeros(0, bool)
            if constant.any():
                first = int(np.argmax(constant))
                raise DataError(
                    f"{self.source}: {split} image {first} is constant ({flat[first, 0]}); "
                    f"{int(constant.sum())} constant images in all"
                )

    def split(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """``(images, labels)`` of one split."""
        return self.images[name], self.labels[name]


def array_datalist(images: np.ndarray, labels: np.ndarray) -> list[dict]:
    """Datalist items ``{"image": (1, H, W), "label": int}`` from ``(N, H, W)`` images and ``(N,)`` labels."""
    return [{Keys.IMAGE: img[None], Keys.LABEL: int(lab)} for img, lab in zip(images, labels, strict=True)]
