"""Loading volumes into dict items."""

from medmonai.transforms.io.dictionary import LoadGrayscaled, LoadVolumed

__all__ = ["LoadGrayscaled", "LoadVolumed"]
