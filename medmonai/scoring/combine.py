"""Combine several methods' anomaly maps into one score, on scales fitted to healthy voxels only."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from medmonai.errors import ConfigError

__all__ = ["RankAverage"]


class RankAverage:
    """The mean, over methods, of each voxel's rank among healthy voxels of that method (its healthy CDF value).

    Maps on unrelated scales (a residual, an intensity, a probability) become comparable: each value turns into the
    fraction of healthy validation voxels scoring lower, and the combined score is the mean of those fractions. Ties
    above every healthy voxel are broken by how far each value lies beyond the healthy maximum, in units of that
    method's healthy range, with a weight small enough never to reorder values inside the healthy range.

    Args:
        methods: the methods to combine (at least two).
        max_reference: most healthy values kept per method (an even subsample of the sorted values).
            Defaults to 200_000.

    Raises:
        ConfigError: fewer than two methods.
    """

    tail_weight = 1e-3

    def __init__(self, methods: Sequence[str], max_reference: int = 200_000) -> None:
        if len(methods) < 2:
            raise ConfigError(f"a combination needs at least two methods, got {list(methods)}")
        self.methods = list(methods)
        self.max_reference = int(max_reference)
        self.reference: dict[str, np.ndarray] = {}

    def fit(self, healthy: Mapping[str, np.ndarray]) -> RankAverage:
        """Keep the sorted healthy voxel values of every method; returns ``self``.

        Raises:
            ConfigError: a method has no healthy values.
        """
        for method in self.methods:
            values = np.sort(np.asarray(healthy.get(method, []), np.float32).ravel())
            if values.size == 0:
                raise ConfigError(f"combination {self.methods}: no healthy values for {method!r}")
            keep = np.linspace(0, values.size - 1, min(values.size, self.max_reference)).astype(int)
            self.reference[method] = values[keep]
        return self

    def __call__(self, maps: Mapping[str, np.ndarray]) -> np.ndarray:
        """Combine ``{method: map}`` (same shapes) into one float32 map in [0, 1 + small tail]."""
        if not self.reference:
            raise ConfigError(f"combination {self.methods} must be fitted on healthy values before use")
        total = np.zeros(np.shape(maps[self.methods[0]]), np.float64)
        for method in self.methods:
            ref, values = self.reference[method], np.asarray(maps[method])
            total += np.searchsorted(ref, values, side="right") / ref.size
            spread = max(float(ref[-1] - ref[0]), 1e-12)
            total += self.tail_weight * np.clip((values - ref[-1]) / spread, 0.0, 1.0)
        return (total / len(self.methods)).astype(np.float32)
