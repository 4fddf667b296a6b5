"""One healthy phantom subject: deformed anatomy, imaged either by label synthesis or with the template's own T1.

- :func:`synthetic_subject`: the template's tissue probabilities deformed
  (:mod:`~medmonai.data.synthetic.deformation`), turned into a crisp, individually folded label map
  (:func:`synthetic_labels`) and imaged in a random contrast (:mod:`~medmonai.data.synthetic.contrast`);
- :func:`template_subject`: the template's real T1 intensities and brain mask deformed together; the texture is the
  template's, not a synthesised one.

Both return the image before scanner effects (:func:`~medmonai.data.synthetic.scanner.scanner_effects`) and lesions.
"""

from __future__ import annotations

import numpy as np

from medmonai.data.synthetic.contrast import label_map, synthesize
from medmonai.data.synthetic.deformation import random_coordinates, resample
from medmonai.data.synthetic.tissues import Tissues

__all__ = ["synthetic_labels", "synthetic_subject", "template_subject"]


def synthetic_labels(
    tissues: Tissues, rng: np.random.Generator, strength: float = 1.0
) -> tuple[np.ndarray, np.ndarray]:
    """A subject's anatomy as labels: the template's tissue probabilities deformed, then a crisp, folded label map.

    The probabilities (not a label map) are resampled, so boundaries are interpolated before the argmax and stay
    smooth rather than staircased; they sum to the brain mask, which is thus deformed alike.

    Args:
        tissues: the template anatomy (:func:`~medmonai.data.synthetic.tissues.load_tissues`).
        rng: the random generator.
        strength: deformation strength (:func:`~medmonai.data.synthetic.deformation.random_coordinates`).
            Defaults to 1.0.

    Returns:
        ``(labels, brain)``: uint8 ``(X, Y, Z)`` labels (``TISSUE_LABELS``) and the boolean brain mask.

    Raises:
        ValueError: ``strength`` < 0.
    """
    coords = random_coordinates(tissues.shape, rng, strength, tissues.voxel_mm)
    warped = resample(tissues.probabilities, coords)
    brain = warped.sum(0) > 0.5  # the probabilities sum to the brain mask
    return label_map(warped, brain, rng, tissues.voxel_mm), brain


def synthetic_subject(
    tissues: Tissues, rng: np.random.Generator, contrast: str = "t1", strength: float = 1.0
) -> tuple[np.ndarray, np.ndarray, dict]:
    """A label-synthesised subject: :func:`synthetic_labels` imaged with random tissue intensities.

    Args:
        tissues: the template anatomy (:func:`~medmonai.data.synthetic.tissues.load_tissues`).
        rng: the random generator.
        contrast: a contrast family of :data:`~medmonai.data.synthetic.contrast.CONTRASTS`. Defaults to "t1".
        strength: deformation strength (:func:`~medmonai.data.synthetic.deformation.random_coordinates`).
            Defaults to 1.0.

    Returns:
        ``(image, brain, settings)``: float32 ``(X, Y, Z)`` about [0, 1], the boolean brain mask, and the
        settings (``source`` "labels", ``strength`` and the contrast's drawn values).

    Raises:
        ValueError: unknown ``contrast`` or ``strength`` < 0.
    """
    labels, brain = synthetic_labels(tissues, rng, strength)
    image, drawn = synthesize(labels, contrast, rng)
    return image, brain, {"source": "labels", "strength": round(float(strength), 4), **drawn}


def template_subject(
    tissues: Tissues, rng: np.random.Generator, strength: float = 1.0
) -> tuple[np.ndarray, np.ndarray, dict]:
    """A subject imaged with the template's own T1 intensities, deformed with its brain mask.

    Args:
        tissues: the template anatomy (:func:`~medmonai.data.synthetic.tissues.load_tissues`).
        rng: the random generator.
        strength: deformation strength (:func:`~medmonai.data.synthetic.deformation.random_coordinates`).
            Defaults to 1.0.

    Returns:
        ``(image, brain, settings)``: float32 ``(X, Y, Z)`` in [0, 1], the boolean brain mask, and the settings
        (``source`` "template", ``contrast`` "t1", ``strength``).

    Raises:
        ValueError: ``strength`` < 0.
    """
    coords = random_coordinates(tissues.shape, rng, strength, tissues.voxel_mm)
    image, brain = resample(np.stack([tissues.t1, tissues.brain]), coords)
    return image, brain > 0.5, {"source": "template", "contrast": "t1", "strength": round(float(strength), 4)}
