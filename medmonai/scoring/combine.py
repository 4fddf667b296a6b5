"""Combine several methods' anomaly maps into one score, on scales fitted to healthy voxels only."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from medmonai.errors import ConfigError

__all__ = ["COMBINATION_RULES", "HealthyScaleCombination"]

COMBINATION_RULES = ("rank_mean", "exceedance_max")


class HealthyScaleCombination:
    """One anomaly map from several methods' maps, each first put on a scale fitted to healthy voxels.

    Maps on unrelated scales (a residual, an intensity, a probability) become comparable. Rules:

    - ``"rank_mean"``: each value becomes its rank among the method's healthy validation voxels (the fraction
      scoring lower), and the ranks are averaged. Ties above every healthy voxel are broken by how far each value
      lies beyond the healthy maximum, in units of that method's healthy range, with a weight (``tail_weight``)
      too small to reorder values inside the healthy range.
    - ``"exceedance_max"``: each value becomes ``(v - median) / (q - median)``, its distance above the healthy
      median in units of the distance from the median to the healthy ``quantile`` (1 = as high as the top healthy
      voxels), and the largest over methods is kept: a voxel flagged strongly by any one method stays flagged.

    Args:
        methods: the methods to combine (at least two).
        rule: one of :data:`COMBINATION_RULES`. Defaults to ``"rank_mean"``.
        quantile: the healthy quantile of ``"exceedance_max"``. Defaults to 0.999.
        max_reference: most healthy values kept per method (an even subsample of the sorted values).
            Defaults to 200_000.

    Raises:
        ConfigError: fewer than two methods, or an unknown rule.
    """

    tail_weight = 1e-3

    def __init__(
        self, methods: Sequence[str], rule: str = "rank_mean", quantile: float = 0.999, max_reference: int = 200_000
    ) -> None:
        if len(methods) < 2 or rule not in COMBINATION_RULES:
            raise ConfigError(
                f"a combination needs at least two methods and a rule from {COMBINATION_RULES}, "
                f"got {list(methods)} and {rule!r}"
            )
        self.methods = list(methods)
        self.rule = rule
        self.quantile = float(quantile)
        self.max_reference = int(max_reference)
        self.reference: dict[str, np.ndarray] = {}

    def fit(self, healthy: Mapping[str, np.ndarray]) -> HealthyScaleCombination:
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

    def __call__(self, maps: Mapping[str, np.ndarray], affine: np.ndarray | None = None) -> np.ndarray:
        """Combine ``{method: map}`` (same shapes) into one float32 map; ``affine`` is not needed."""
        if not self.reference:
            raise ConfigError(f"combination {self.methods} must be fitted on healthy values before use")
        scaled = [self._scaled(m, np.asarray(maps[m], np.float64)) for m in self.methods]
        combined = np.mean(scaled, axis=0) if self.rule == "rank_mean" else np.max(scaled, axis=0)
        return combined.astype(np.float32)

    def _scaled(self, method: str, values: np.ndarray) -> np.ndarray:
        ref = self.reference[method]
        if self.rule == "exceedance_max":
            median, top = np.quantile(ref, 0.5), np.quantile(ref, self.quantile)
            return (values - median) / max(float(top - median), 1e-12)
        rank = np.searchsorted(ref, values, side="right") / ref.size
        spread = max(float(ref[-1] - ref[0]), 1e-12)
        return rank + self.tail_weight * np.clip((values - ref[-1]) / spread, 0.0, 1.0)
