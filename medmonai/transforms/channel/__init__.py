"""Channel and modality selection transforms."""

from medmonai.transforms.channel.array import SelectChannel
from medmonai.transforms.channel.dictionary import SelectModalityd

__all__ = ["SelectChannel", "SelectModalityd"]
