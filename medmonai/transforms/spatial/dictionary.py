"""Dictionary wrappers of :mod:`medmonai.transforms.spatial.array`."""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence

from monai.config import KeysCollection, NdarrayOrTensor
from monai.transforms import MapTransform

from medmonai.transforms.spatial.array import FitToCanvas

__all__ = ["FitToCanvasd"]


class FitToCanvasd(MapTransform):
    """Dictionary version of :class:`FitToCanvas`; see it for shapes and value ranges."""

    backend = FitToCanvas.backend

    def __init__(
        self,
        keys: KeysCollection,
        box_size: Sequence[int] = (20, 20),
        canvas_size: Sequence[int] = (28, 28),
        mode: str = "bilinear",
        allow_missing_keys: bool = False,
    ) -> None:
        super().__init__(keys, allow_missing_keys)
        self.fitter = FitToCanvas(box_size=box_size, canvas_size=canvas_size, mode=mode)

    def __call__(self, data: Mapping[Hashable, NdarrayOrTensor]) -> dict[Hashable, NdarrayOrTensor]:
        """Apply :class:`FitToCanvas` to every key."""
        d = dict(data)
        for key in self.key_iterator(d):
            d[key] = self.fitter(d[key])
        return d
