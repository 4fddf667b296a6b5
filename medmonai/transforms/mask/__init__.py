"""Brain-mask edge variation for training: masks as imperfect as a registration's."""

from medmonai.transforms.mask.array import RandMaskEdge
from medmonai.transforms.mask.dictionary import RandMaskEdged

__all__ = ["RandMaskEdge", "RandMaskEdged"]
