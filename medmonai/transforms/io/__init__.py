"""Loading volumes into dict items."""

from medmonai.transforms.io.dictionary import LoadVolumed

__all__ = ["LoadVolumed"]
