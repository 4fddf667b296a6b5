"""Voxel-wise standardisation of anomaly maps against the maps of healthy volumes (a normative map)."""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence

import numpy as np
from scipy import ndimage

from medmonai.errors import ConfigError

__all__ = ["VoxelwiseStandardization", "resample_to"]


def resample_to(
    volume: np.ndarray, affine: np.ndarray, shape: Sequence[int], target_affine: np.ndarray, cval: float
) -> np.ndarray:
    """``volume`` (voxel-to-world ``affine``) resampled trilinearly onto the grid ``(shape, target_affine)``."""
    matrix = np.linalg.inv(np.asarray(affine, np.float64)) @ np.asarray(target_affine, np.float64)
    return ndimage.affine_transform(
        np.asarray(volume, np.float32), matrix[:3, :3], matrix[:3, 3], output_shape=tuple(shape), order=1, cval=cval
    )


class VoxelwiseStandardization:
    """A method's map as a voxel-wise z-score against that method's maps of healthy volumes, in world space.

    Healthy validation maps are resampled onto the first one's grid by their affines (volumes in one template
    space line up voxel by voxel; others line up by world coordinates), and give a mean and a standard deviation
    per voxel, smoothed (``sigma`` voxels) because a few healthy volumes give noisy estimates. Voxels seen by fewer
    than ``min_count`` healthy volumes take the global values; standard deviations are floored at ``std_floor``
    times the global one. A map then becomes ``z = (map - mean) / std``, kept by ``tail``: how unusual each voxel is
    for that place in healthy brains (edges and ventricles, where every model's residual is high, count less).
    Standardising the image itself (the intensity baseline's map) with ``tail="lower"`` flags tissue darker than
    healthy brains are at that place, which a hyperintensity threshold cannot see.

    Args:
        method: the method whose maps are standardised.
        sigma: smoothing of the mean and standard-deviation maps, voxels. Defaults to 2.0.
        min_count: fewest healthy volumes a voxel needs for its own statistics. Defaults to 3.
        std_floor: lowest standard deviation, as a fraction of the global one. Defaults to 0.25.
        tail: which deviations score: ``"upper"`` ``max(z, 0)``, ``"lower"`` ``max(-z, 0)`` or ``"both"`` ``|z|``.
            Defaults to ``"upper"``.

    Raises:
        ConfigError: ``min_count`` < 1, ``std_floor`` not in (0, 1] or an unknown ``tail``.
    """

    TAILS = ("upper", "lower", "both")

    def __init__(
        self, method: str, sigma: float = 2.0, min_count: int = 3, std_floor: float = 0.25, tail: str = "upper"
    ) -> None:
        if min_count < 1 or not 0 < std_floor <= 1:
            raise ConfigError(f"min_count must be >= 1 and std_floor in (0, 1], got {min_count}, {std_floor}")
        if tail not in self.TAILS:
            raise ConfigError(f"normative tail must be one of {self.TAILS}, got {tail!r}")
        self.method, self.tail = method, tail
        self.methods = [method]
        self.rule = f"voxelwise_z_{tail}"  # how evaluation_settings.json names it
        self.sigma, self.min_count, self.std_floor = float(sigma), int(min_count), float(std_floor)
        self.mean = self.std = self.affine = None
        self.fill = (0.0, 1.0)

    def fit(self, records: Sequence[Mapping]) -> VoxelwiseStandardization:
        """Fit on healthy records ``{"maps": {method: (X, Y, Z)}, "region": bool (X, Y, Z), "affine": 4x4}``.

        Raises:
            ConfigError: no records.
        """
        if not records:
            raise ConfigError(f"voxel-wise standardisation of {self.method} needs healthy volumes")
        shape, self.affine = records[0]["region"].shape, np.asarray(records[0]["affine"], np.float64)
        stack = np.stack([self._on_grid(r, shape) for r in records])
        count = np.isfinite(stack).sum(0)
        values = stack[np.isfinite(stack)]
        self.fill = (float(values.mean()), float(max(values.std(), 1e-6)))
        with warnings.catch_warnings():  # voxels no healthy volume covers are all-NaN columns, replaced below
            warnings.simplefilter("ignore", RuntimeWarning)
            mean, std = np.nanmean(stack, 0), np.nanstd(stack, 0)
        enough = count >= self.min_count
        mean = ndimage.gaussian_filter(np.where(enough, mean, self.fill[0]), self.sigma)
        std = ndimage.gaussian_filter(np.where(enough, std, self.fill[1]), self.sigma)
        self.mean, self.std = mean.astype(np.float32), np.maximum(std, self.std_floor * self.fill[1]).astype(np.float32)
        return self

    def _on_grid(self, record: Mapping, shape: Sequence[int]) -> np.ndarray:
        values = np.where(record["region"], record["maps"][self.method], np.nan)
        return resample_to(values, record["affine"], shape, self.affine, cval=np.nan)

    def __call__(self, maps: Mapping[str, np.ndarray], affine: np.ndarray | None = None) -> np.ndarray:
        """The standardised map of ``maps[method]``, on its own grid (``affine``; None: the fitted grid)."""
        if self.mean is None:
            raise ConfigError(f"voxel-wise standardisation of {self.method} must be fitted on healthy maps first")
        values = np.asarray(maps[self.method], np.float32)
        mean, std = self.mean, self.std
        if affine is not None and (values.shape != mean.shape or not np.allclose(affine, self.affine, atol=1e-3)):
            mean = resample_to(self.mean, self.affine, values.shape, affine, cval=self.fill[0])
            std = resample_to(self.std, self.affine, values.shape, affine, cval=self.fill[1])
        z = (values - mean) / std
        kept = {"upper": z, "lower": -z, "both": np.abs(z)}[self.tail]
        return np.maximum(kept, 0.0).astype(np.float32)
