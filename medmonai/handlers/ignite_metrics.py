"""Small ignite metrics over engine-output keys."""

from __future__ import annotations

from ignite.metrics import Average

__all__ = ["ItemMean", "mean_of"]


class ItemMean(Average):
    """Ignite ``Average`` of one engine-output key, computed as a Python float.

    ``Average`` counts an input as a batch only when it has 2+ dims, so values are reshaped to ``(B, 1)``:
    per-item ``(B,)`` tensors average over items, scalar losses over iterations.

    Args:
        key: the ``engine.state.output`` key to average.
    """

    def __init__(self, key: str) -> None:
        self.key = key
        super().__init__(output_transform=self._select)

    def _select(self, output: dict):
        return output[self.key].detach().reshape(-1, 1).float()

    def compute(self) -> float:
        """Return the mean as a float."""
        return float(super().compute().reshape(-1)[0])


def mean_of(key: str) -> ItemMean:
    """Shorthand for :class:`ItemMean` (reads well in configs)."""
    return ItemMean(key)
