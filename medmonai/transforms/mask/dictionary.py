"""Dictionary wrapper of :mod:`medmonai.transforms.mask.array`."""

from __future__ import annotations

from collections.abc import Hashable, Mapping

from monai.config import KeysCollection
from monai.transforms import MapTransform, RandomizableTransform

from medmonai.transforms.mask.array import RandMaskEdge

__all__ = ["RandMaskEdged"]


class RandMaskEdged(RandomizableTransform, MapTransform):
    """Dictionary version of :class:`RandMaskEdge`: one draw per item, applied to every key.

    Args:
        keys: masked patches, ``(C, X, Y, Z)``.
        mask_key: their brain mask, ``(1, X, Y, Z)``.
        **kwargs: ``prob``, ``max_grow``, ``rim_range``.
    """

    def __init__(self, keys: KeysCollection, mask_key: str, allow_missing_keys: bool = False, **kwargs) -> None:
        MapTransform.__init__(self, keys, allow_missing_keys)
        self.edge = RandMaskEdge(**kwargs)
        RandomizableTransform.__init__(self, self.edge.prob)
        self.mask_key = mask_key

    def set_random_state(self, seed: int | None = None, state=None) -> RandMaskEdged:
        """Seed the wrapped transform too."""
        super().set_random_state(seed, state)
        self.edge.set_random_state(seed, state)
        return self

    def __call__(self, data: Mapping[Hashable, object]) -> dict[Hashable, object]:
        """Move the mask edge of every key with one draw."""
        d = dict(data)
        self.edge.randomize()
        for key in self.key_iterator(d):
            d[key] = self.edge(d[key], d[self.mask_key], randomize=False)
        return d
