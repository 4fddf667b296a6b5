"""Brain extraction by a convolutional network: deepbet's two 3-D CNNs, whose weights ship inside its wheel.

deepbet (MIT licence, the ``brain`` extra) finds the head's bounding box with a small network at 128³, then
segments the brain inside that box at 256³. It reorients any input to RAS itself, so it takes any orientation.
Scans with thick slices (over ``max_slice_mm``) are first resampled to ``resample_mm`` isotropic voxels, because
the network was trained on near-isotropic heads; the mask is brought back onto the scan's own grid.

The network labels something as brain in almost any volume, a bright ball or noise included, so a mask is
refused (:class:`~medmonai.errors.DataError`, naming the file) unless it looks like a brain in its head: a volume
between ``volume_ml``, few voxels at background intensity inside it (``max_dark``), and a brain brighter than the
rest of the field of view (``min_contrast``). A failed extraction never silently becomes the region a map is
scored in. On the five real development heads and their clinical variants the checks sit far from their limits
(at most 3% dark voxels, a contrast of at least 2.8); a ball or noise fails them (92% dark, a contrast of 1.0).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

import nibabel as nib
import numpy as np
import torch

from medmonai.errors import ConfigError, DataError
from medmonai.transforms.spatial.array import isotropic_grid, resample_to_grid

__all__ = ["NetworkBrainExtractor", "deepbet_model", "mask_plausibility"]

_HOW_TO_SKIP = (
    "supply a mask (--input_datalist with image,brain_mask columns), or --brain_extraction false for scans that "
    "are already skull-stripped"
)


@functools.lru_cache(maxsize=2)
def deepbet_model(device: str = "cpu"):
    """The ``BrainExtraction`` of deepbet (both networks loaded once per process and device).

    Raises:
        ConfigError: deepbet is not installed.
    """
    try:
        from deepbet.bet import BrainExtraction
    except ImportError as e:
        raise ConfigError(
            "brain extraction needs deepbet (its weights ship in its wheel): pip install 'medmonai[brain]'"
        ) from e
    return BrainExtraction(no_gpu=torch.device(device).type != "cuda")


class NetworkBrainExtractor:
    """A brain mask for a skull-on head, on the head's own voxel grid.

    Args:
        device: where the networks run ("cpu" or "cuda"). Defaults to "cpu".
        threshold: probability above which a voxel is brain. Defaults to 0.5.
        max_slice_mm: scans with a voxel side above this are resampled first. Defaults to 3.0.
        resample_mm: the isotropic voxel size they are resampled to. Defaults to 1.5.
        volume_ml: the plausible brain volume range (ml); a cropped field of view may hold part of one.
            Defaults to (150.0, 2500.0).
        max_dark: the largest fraction of mask voxels at background intensity (within 2% of the intensity range
            above its 1st percentile). Defaults to 0.2.
        min_contrast: the smallest ratio of mean intensity inside the mask to mean intensity outside it, both
            above the 1st percentile. Defaults to 1.5.

    Raises:
        ConfigError: a setting out of range.
    """

    def __init__(
        self,
        device: str | torch.device = "cpu",
        threshold: float = 0.5,
        max_slice_mm: float = 3.0,
        resample_mm: float = 1.5,
        volume_ml: Sequence[float] = (150.0, 2500.0),
        max_dark: float = 0.2,
        min_contrast: float = 1.5,
    ) -> None:
        if not 0.0 < threshold < 1.0 or resample_mm <= 0 or max_slice_mm <= 0:
            raise ConfigError(
                "threshold must be in (0, 1) and max_slice_mm, resample_mm positive, got "
                f"{threshold}, {max_slice_mm}, {resample_mm}"
            )
        self.device = str(torch.device(device))
        self.threshold, self.max_slice_mm, self.resample_mm = float(threshold), float(max_slice_mm), float(resample_mm)
        self.volume_ml = (float(volume_ml[0]), float(volume_ml[1]))
        self.max_dark, self.min_contrast = float(max_dark), float(min_contrast)

    def __call__(self, volume: np.ndarray, affine: np.ndarray, source: str = "volume") -> np.ndarray:
        """Extract the brain.

        Args:
            volume: ``(X, Y, Z)`` head, any intensity range.
            affine: its 4x4 voxel-to-world (RAS, mm) matrix.
            source: the file's name in error messages. Defaults to "volume".

        Returns:
            ``(X, Y, Z)`` uint8 mask, 1 inside the brain.

        Raises:
            DataError: the volume is not finite, or the network found no brain of plausible size.
        """
        volume = np.asarray(volume, np.float32)
        affine = np.asarray(affine, np.float64)
        if volume.ndim != 3 or not np.isfinite(volume).all():
            raise DataError(f"{source}: brain extraction needs a finite 3-D volume, got shape {volume.shape}")
        if np.ptp(volume) == 0:
            raise DataError(f"{source}: brain extraction failed (the volume is constant, no head); {_HOW_TO_SKIP}")
        spacing = np.sqrt((affine[:3, :3] ** 2).sum(axis=0))
        work, work_affine = volume, affine
        if spacing.max() > self.max_slice_mm:
            work_affine, work_shape = isotropic_grid(affine, volume.shape, self.resample_mm)
            work = resample_to_grid(volume, affine, work_affine, work_shape)
        try:
            _, mask_image, _ = deepbet_model(self.device).run(
                nib.Nifti1Image(work, work_affine), threshold=self.threshold
            )
            mask = np.asarray(mask_image.dataobj)
        except (AssertionError, ValueError, RuntimeError) as e:  # deepbet asserts when it finds no head
            raise DataError(f"{source}: brain extraction failed ({e}); {_HOW_TO_SKIP}") from e
        mask = mask.astype(np.float32)
        if work is not volume:
            mask = resample_to_grid(mask, work_affine, affine, volume.shape)
        mask = (mask > 0.5).astype(np.uint8)
        ml = float(mask.sum() * np.prod(spacing) / 1000.0)
        if not self.volume_ml[0] <= ml <= self.volume_ml[1]:
            raise DataError(
                f"{source}: brain extraction failed (a mask of {ml:.0f} ml, outside {self.volume_ml[0]:g}-"
                f"{self.volume_ml[1]:g} ml); {_HOW_TO_SKIP}"
            )
        dark, contrast = mask_plausibility(volume, mask)
        if dark > self.max_dark:
            raise DataError(
                f"{source}: brain extraction failed ({dark:.0%} of the mask is background, more than "
                f"{self.max_dark:.0%}); {_HOW_TO_SKIP}"
            )
        if contrast < self.min_contrast:
            raise DataError(
                f"{source}: brain extraction failed (the mask is only {contrast:.2f}x as bright as its surroundings, "
                f"under {self.min_contrast:g}x: no brain found); {_HOW_TO_SKIP}"
            )
        return mask


def mask_plausibility(volume: np.ndarray, mask: np.ndarray) -> tuple[float, float]:
    """How much a mask looks like a brain in its head.

    Returns:
        ``(dark, contrast)``: the fraction of mask voxels within 2% of the intensity range above the 1st
        percentile, and the mean intensity inside the mask over that outside it, both above the 1st percentile.
    """
    inside = mask > 0
    low, high = np.percentile(volume, [1.0, 99.5])
    above = volume[inside] - low
    dark = float((above < 0.02 * max(high - low, 1e-12)).mean())
    outside = volume[~inside] - low
    if outside.size == 0:
        return dark, float("inf")
    return dark, float(above.mean() / max(float(outside.mean()), 1e-6 * max(high - low, 1e-12)))
