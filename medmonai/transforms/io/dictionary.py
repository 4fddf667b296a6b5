"""Dictionary transforms loading images: 3-D volumes (NIfTI, MetaImage), 2-D grayscale pictures and 2-D channels."""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from typing import Any

from monai.config import KeysCollection
from monai.transforms import MapTransform

from medmonai.data.io import load_grayscale, load_volume
from medmonai.keys import Keys
from medmonai.transforms.io.array import LoadImageChannels

__all__ = ["LoadGrayscaled", "LoadImageChannelsd", "LoadVolumed"]


class LoadVolumed(MapTransform):
    """Replace file paths under ``keys`` by ``(1, X, Y, Z)`` float32 ``MetaTensor`` volumes.

    SimpleITK reads NIfTI and MetaImage several times faster than MONAI's generic ``LoadImage`` (MONAI #8107).
    Each volume's ``affine`` (RAS) and ``filename_or_obj`` travel in its meta, so maps can be written in the
    input's space and errors can name the file.

    Args:
        keys: keys holding paths.
        allow_missing_keys: skip keys an item lacks (e.g. an optional ``brain_mask``). Defaults to False.

    Raises:
        DataError: a file is unreadable or not a 3-D single-channel volume (named in the message).
    """

    def __init__(self, keys: KeysCollection, allow_missing_keys: bool = False) -> None:
        super().__init__(keys, allow_missing_keys)

    def __call__(self, data: Mapping[Hashable, Any]) -> dict[Hashable, Any]:
        """Load every present key."""
        d = dict(data)
        for key in self.key_iterator(d):
            d[key] = load_volume(d[key])
        return d


class LoadGrayscaled(MapTransform):
    """Replace file paths under ``keys`` by ``(1, size, size)`` float32 grayscale images in [0, 1].

    The shorter side is resized to ``size`` (bilinear) and the centre is cropped square; see
    :func:`medmonai.data.io.load_grayscale`.

    Args:
        keys: keys holding paths.
        size: output height and width. Defaults to 128.

    Raises:
        DataError: a file is not a readable image (named in the message).
    """

    def __init__(self, keys: KeysCollection, size: int = 128, allow_missing_keys: bool = False) -> None:
        super().__init__(keys, allow_missing_keys)
        self.size = int(size)

    def __call__(self, data: Mapping[Hashable, Any]) -> dict[Hashable, Any]:
        """Load every present key."""
        d = dict(data)
        for key in self.key_iterator(d):
            d[key] = load_grayscale(d[key], self.size)
        return d


class LoadImageChannelsd(MapTransform):
    """Replace the list of channel paths under ``keys`` by a float32 ``(C, H, W)`` tensor in [-1, 1].

    The dictionary form of :class:`~medmonai.transforms.io.array.LoadImageChannels`, for the items of
    :func:`medmonai.data.image_set`: a volume's slice index is read from ``slice_key`` (-1, or no such key, for
    2-D files).

    Args:
        keys: keys holding path lists. Defaults to ``"image"``.
        image_shape: output ``(height, width)``.
        resize: resize images of another size; when False such an image is an error. Defaults to True.
        slice_key: the item key holding the slice index. Defaults to ``"slice"``.
        slice_axis: the axis volumes are sliced along; must match the datalist's. Defaults to 2 (axial).
        allow_missing_keys: skip keys an item lacks. Defaults to False.

    Raises:
        DataError: a file is unreadable, channels differ in size, or (``resize`` False) an image is not of
            ``image_shape`` (named in the message).
    """

    def __init__(
        self,
        keys: KeysCollection = Keys.IMAGE,
        *,
        image_shape: Sequence[int],
        resize: bool = True,
        slice_key: str = "slice",
        slice_axis: int = 2,
        allow_missing_keys: bool = False,
    ) -> None:
        super().__init__(keys, allow_missing_keys)
        self.loader = LoadImageChannels(image_shape, resize, slice_axis)
        self.slice_key = slice_key

    def __call__(self, data: Mapping[Hashable, Any]) -> dict[Hashable, Any]:
        """Load every present key."""
        d = dict(data)
        slice_index = int(d.get(self.slice_key, -1))
        for key in self.key_iterator(d):
            d[key] = self.loader(d[key], slice_index)
        return d
