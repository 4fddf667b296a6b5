"""Loading volumes, 2-D pictures and multi-channel 2-D images into dict items."""

from medmonai.transforms.io.array import LoadImageChannels, fit_to_shape
from medmonai.transforms.io.dictionary import LoadGrayscaled, LoadImageChannelsd, LoadVolumed

__all__ = ["LoadGrayscaled", "LoadImageChannels", "LoadImageChannelsd", "LoadVolumed", "fit_to_shape"]
