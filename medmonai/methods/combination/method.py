"""A combined map: each method's map on a scale of its healthy voxels, then their mean rank or largest exceedance."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from medmonai.methods.derived import DerivedMethod
from medmonai.scoring import HealthyScaleCombination

__all__ = ["CombinedMap"]


class CombinedMap(HealthyScaleCombination, DerivedMethod):
    """:class:`medmonai.scoring.HealthyScaleCombination` of several methods' maps, as a method of its own.

    It is fitted on the in-brain voxels of the healthy validation volumes, pooled per method. Arguments as for
    :class:`medmonai.scoring.HealthyScaleCombination`.
    """

    def fit(self, records: Sequence[Mapping]) -> CombinedMap:  # type: ignore[override]
        """Fit on the healthy records' in-region values of every method it combines."""
        pooled = {m: np.concatenate([r["maps"][m][r["region"]] for r in records]) for m in self.methods}
        super().fit(pooled)
        return self
