"""What a derived method is: a map made from other methods' maps, fitted on their healthy validation maps."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import ClassVar

import numpy as np

__all__ = ["DerivedMethod"]


class DerivedMethod:
    """A method with no network and no weights whose map is computed from the maps of other methods.

    An evaluation maps the healthy validation volumes with every method, fits each derived method on those maps
    (:meth:`fit`), and from then on reports it as a method of its own, computed from the other maps of each volume
    (:meth:`__call__`). Derived methods are listed after the maps they use, so a derived method may use another.

    Declarations:
        methods: the methods whose maps it needs; it is skipped when one of them is not evaluated.
        rule: how it derives its map, as the evaluation settings record it.
        template_space: its statistics are per place in the healthy brains, so the brains must line up in world
            coordinates (registered to one template) for the map to mean what it says.
    """

    needs_weights: ClassVar[bool] = False
    template_space: ClassVar[bool] = False
    methods: list[str]
    rule: str

    def fit(self, records: Sequence[Mapping]) -> DerivedMethod:
        """Fit on the healthy volumes' records ``{"maps": {method: (X, Y, Z)}, "region": bool, "affine": 4x4}``."""
        raise NotImplementedError

    def __call__(self, maps: Mapping[str, np.ndarray], affine: np.ndarray | None = None) -> np.ndarray:
        """The derived map of one volume from its ``{method: map}`` on the grid of ``affine``."""
        raise NotImplementedError
