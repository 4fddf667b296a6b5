"""In-memory image arrays split as their source ships them, and the datalist items made from them."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from medmonai.keys import Keys

__all__ = ["SplitArrays", "array_datalist"]


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

    def split(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """``(images, labels)`` of one split."""
        return self.images[name], self.labels[name]


def array_datalist(images: np.ndarray, labels: np.ndarray) -> list[dict]:
    """Datalist items ``{"image": (1, H, W), "label": int}`` from ``(N, H, W)`` images and ``(N,)`` labels."""
    return [{Keys.IMAGE: img[None], Keys.LABEL: int(lab)} for img, lab in zip(images, labels, strict=True)]
