"""Dictionary wrappers of :mod:`medmonai.transforms.intensity.array`."""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence

from monai.config import KeysCollection, NdarrayOrTensor
from monai.transforms import MapTransform

from medmonai.keys import Keys
from medmonai.transforms.intensity.array import SimpleITKNormalize
from medmonai.transforms.intensity.landmarks import LandmarkStandardize

__all__ = ["LandmarkStandardized", "SimpleITKNormalized"]


class SimpleITKNormalized(MapTransform):
    """Dictionary version of :class:`SimpleITKNormalize`; see it for shapes, ranges and errors.

    Args:
        keys: images to normalise.
        mask_key: key of a foreground mask to use instead of ``foreground``; items without it fall back to
            ``foreground``. Defaults to None.
        foreground_key: if set, the foreground used is stored under this key as ``(1, ...)`` uint8.
            Defaults to None.
        **kwargs: ``foreground``, ``lower_percentile``, ``upper_percentile``, ``clip``.
    """

    backend = SimpleITKNormalize.backend

    def __init__(
        self,
        keys: KeysCollection,
        mask_key: str | None = None,
        foreground_key: str | None = None,
        allow_missing_keys: bool = False,
        **kwargs,
    ) -> None:
        super().__init__(keys, allow_missing_keys)
        self.normalizer = SimpleITKNormalize(**kwargs)
        self.mask_key = mask_key
        self.foreground_key = foreground_key

    def __call__(self, data: Mapping[Hashable, NdarrayOrTensor]) -> dict[Hashable, NdarrayOrTensor]:
        """Normalise every key; the first key's foreground is stored when ``foreground_key`` is set."""
        d = dict(data)
        mask = d.get(self.mask_key) if self.mask_key else None
        for key in self.key_iterator(d):
            d[key], foreground = self.normalizer.with_foreground(d[key], mask)
            if self.foreground_key and self.foreground_key not in d:
                d[self.foreground_key] = foreground
        return d


class LandmarkStandardized(MapTransform):
    """Dictionary version of :class:`LandmarkStandardize`.

    Args:
        keys: volumes to standardise.
        landmarks: see :class:`LandmarkStandardize`; None passes items through (standardisation off).
        mask_key: their brain mask. Defaults to ``"brain_mask"``.
    """

    def __init__(
        self, keys: KeysCollection, landmarks: Sequence[float] | None, mask_key: str = Keys.BRAIN_MASK
    ) -> None:
        super().__init__(keys)
        self.standardize = LandmarkStandardize(landmarks) if landmarks is not None else None
        self.mask_key = mask_key

    def __call__(self, data: Mapping[Hashable, NdarrayOrTensor]) -> dict[Hashable, NdarrayOrTensor]:
        """Standardise every key with the item's mask."""
        d = dict(data)
        if self.standardize is not None:
            for key in self.key_iterator(d):
                d[key] = self.standardize(d[key], d[self.mask_key])
        return d
