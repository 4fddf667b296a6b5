"""Array intensity transforms."""

from __future__ import annotations

import numpy as np
import SimpleITK as sitk
from monai.config import NdarrayOrTensor
from monai.transforms import Transform
from monai.utils import TransformBackends, convert_to_dst_type, convert_to_numpy

from medmonai.errors import ConfigError, DataError
from medmonai.transforms.source import source_of

__all__ = ["SimpleITKNormalize", "FOREGROUND_METHODS"]

FOREGROUND_METHODS = ("otsu", "nonzero", "all")


class SimpleITKNormalize(Transform):
    """Z-score inside a foreground, clip to foreground percentiles, rescale to [0, 1] (``clip=False``: no clipping).

    The reference study normalises DWI with SimpleITK and scales it to [0, 1]. Here the z-score statistics come
    from SimpleITK's ``LabelStatisticsImageFilter`` over the foreground (Otsu threshold by default, or a given
    mask), values are clipped to the ``[lower, upper]`` percentiles of the foreground and rescaled linearly to
    [0, 1]. The result is deterministic.

    Args:
        foreground: ``"otsu"`` (SimpleITK Otsu threshold), ``"nonzero"`` or ``"all"``; ignored when a mask is
            passed. Defaults to ``"otsu"``.
        lower_percentile: lower clip, in [0, 100). Defaults to 0.5.
        upper_percentile: upper clip, in (lower, 100]. Defaults to 99.5.
        clip: clip to the percentiles. False keeps values outside them (so anomalies brighter than the upper
            percentile stay brighter than 1), mapping the percentiles linearly to 0 and 1. Defaults to True.

    Raises:
        ConfigError: unknown ``foreground`` or bad percentiles.
    """

    backend = [TransformBackends.NUMPY]

    def __init__(
        self, foreground: str = "otsu", lower_percentile: float = 0.5, upper_percentile: float = 99.5, clip: bool = True
    ):
        if foreground not in FOREGROUND_METHODS:
            raise ConfigError(f"foreground must be one of {FOREGROUND_METHODS}, got {foreground!r}")
        if not 0.0 <= lower_percentile < upper_percentile <= 100.0:
            raise ConfigError(
                f"percentiles must satisfy 0 <= lower < upper <= 100, got {lower_percentile}, {upper_percentile}"
            )
        self.foreground = foreground
        self.lower = lower_percentile
        self.upper = upper_percentile
        self.clip = clip

    def foreground_mask(self, volume: np.ndarray) -> np.ndarray:
        """Boolean foreground of a 3-D (or 2-D) volume by the configured method."""
        if self.foreground == "all":
            return np.ones(volume.shape, bool)
        if self.foreground == "nonzero":
            return volume != 0
        otsu = sitk.OtsuThreshold(sitk.GetImageFromArray(volume.astype(np.float32)), 0, 1)
        return sitk.GetArrayFromImage(otsu).astype(bool)

    def __call__(self, img: NdarrayOrTensor, mask: NdarrayOrTensor | None = None) -> NdarrayOrTensor:
        """Normalise ``img``; see :meth:`with_foreground` for arguments, shapes and errors."""
        return self.with_foreground(img, mask)[0]

    def with_foreground(
        self, img: NdarrayOrTensor, mask: NdarrayOrTensor | None = None
    ) -> tuple[NdarrayOrTensor, np.ndarray]:
        """Normalise ``img`` and return the foreground the statistics came from.

        Args:
            img: ``(1, H, W[, D])`` channel-first volume, any real dtype.
            mask: optional ``(1, H, W[, D])`` foreground; nonzero voxels are foreground.

        Returns:
            ``(normalised, foreground)``: float32 of the input's type and shape with values in [0, 1] (foreground
            percentiles at 0 and 1 when not clipping), and the
            ``(1, H, W[, D])`` uint8 foreground.

        Raises:
            DataError: the volume (named by its source file when known) is all NaN, holds NaN, is constant, or
                its foreground is empty.
        """
        where = source_of(img)
        volume = convert_to_numpy(img, dtype=np.float32)
        if volume.shape[0] != 1:
            raise ValueError(f"img must have one channel, got shape {volume.shape}")
        volume = volume[0]
        if np.isnan(volume).all():
            raise DataError(f"{where}: volume is all NaN")
        if not np.isfinite(volume).all():
            raise DataError(f"{where}: volume holds NaN or infinite values")
        if volume.max() == volume.min():
            raise DataError(f"{where}: volume is constant ({volume.min():g}); nothing to normalise")
        fg = convert_to_numpy(mask)[0] != 0 if mask is not None else self.foreground_mask(volume)
        if not fg.any():
            raise DataError(f"{where}: foreground is empty")
        stats = sitk.LabelStatisticsImageFilter()
        stats.Execute(sitk.GetImageFromArray(volume), sitk.GetImageFromArray(fg.astype(np.uint8)))
        mean, sigma = stats.GetMean(1), stats.GetSigma(1)
        z = (volume - mean) / (sigma if sigma > 0 else 1.0)
        low, high = np.percentile(z[fg], [self.lower, self.upper])
        if high <= low:
            high = low + 1.0
        z = np.clip(z, low, high) if self.clip else z
        out = ((z - low) / (high - low)).astype(np.float32)[None]
        return convert_to_dst_type(out, img, dtype=np.float32)[0], fg[None].astype(np.uint8)
