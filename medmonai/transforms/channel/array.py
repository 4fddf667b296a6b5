"""Array channel transforms."""

from __future__ import annotations

from monai.config import NdarrayOrTensor
from monai.transforms import Transform
from monai.utils import TransformBackends

from medmonai.errors import DataError
from medmonai.transforms.source import source_of

__all__ = ["SelectChannel"]


class SelectChannel(Transform):
    """Keep one channel of a stacked multi-channel image, e.g. DWI from a ``(DWI, FLAIR, T1, T2)`` stack.

    Args:
        index: channel to keep; negative counts from the end.
    """

    backend = [TransformBackends.TORCH, TransformBackends.NUMPY]

    def __init__(self, index: int) -> None:
        self.index = int(index)

    def __call__(self, img: NdarrayOrTensor) -> NdarrayOrTensor:
        """Return ``img[index : index + 1]``, shape ``(1, ...)``, same type and dtype.

        Raises:
            DataError: ``img`` (named by its source file when known) has no such channel.
        """
        channels = img.shape[0]
        if not -channels <= self.index < channels:
            raise DataError(f"{source_of(img)}: has {channels} channels, cannot select channel {self.index}")
        index = self.index % channels
        return img[index : index + 1]
