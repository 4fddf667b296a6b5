"""The embedded default digits: scikit-learn's real handwritten digits, laid out like MNIST."""

from __future__ import annotations

import numpy as np
from sklearn.datasets import load_digits

from medmonai.transforms.spatial import FitToCanvas

__all__ = ["load_embedded_digits", "EMBEDDED_DIGITS_SOURCE"]

EMBEDDED_DIGITS_SOURCE = "sklearn.datasets.load_digits (8x8, upsampled to 28x28)"


def load_embedded_digits() -> tuple[np.ndarray, np.ndarray]:
    """Load the 1,797 real 8x8 digits that ship with scikit-learn, as 28x28 MNIST-style images.

    Method: intensities 0..16 are divided by 16; each image is resized bilinearly to 20x20 and centred on a
    28x28 zero canvas, which is how MNIST itself normalises digits (20x20 box centred in 28x28).

    Returns:
        ``(images, labels)``: float32 ``(1797, 28, 28)`` in [0, 1] and int64 ``(1797,)`` in 0..9.
    """
    bunch = load_digits()
    images = (bunch.images / 16.0).astype(np.float32)
    # FitToCanvas resizes every channel alike, so the stack of N digits goes through in one call.
    canvas = np.asarray(FitToCanvas(box_size=(20, 20), canvas_size=(28, 28))(images), dtype=np.float32)
    return canvas, bunch.target.astype(np.int64)
