"""Array transforms loading images: several 2-D channels (pictures, DICOM images, volume slices) into one tensor."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from monai.transforms import Transform
from monai.utils import TransformBackends

from medmonai.data.io import load_plane
from medmonai.errors import ConfigError, DataError

__all__ = ["LoadImageChannels", "fit_to_shape"]


def fit_to_shape(image: torch.Tensor, image_shape: Sequence[int]) -> torch.Tensor:
    """Resize ``(C, H, W)`` ``image`` to cover ``image_shape`` (bilinear, antialiased), then crop its centre.

    A square target gets the shorter side resized to it; any other target the smallest size that covers it, so
    the aspect ratio is kept and nothing is padded.
    """
    height, width = (int(s) for s in image_shape)
    scale = max(height / image.shape[-2], width / image.shape[-1])
    size = (max(height, round(image.shape[-2] * scale)), max(width, round(image.shape[-1] * scale)))
    if size != tuple(image.shape[-2:]):
        image = F.interpolate(image[None], size=size, mode="bilinear", align_corners=False, antialias=True)[0]
    top, left = (size[0] - height) // 2, (size[1] - width) // 2
    return image[:, top : top + height, left : left + width]


class LoadImageChannels(Transform):
    """Read one path per channel into a float32 ``(C, H, W)`` tensor in [-1, 1] (the range of a tanh generator).

    Each channel is read by :func:`medmonai.data.io.load_plane`: 8- and 16-bit pictures scaled by their
    dtype's range, float pictures, DICOM images and NIfTI slices by their own minimum and maximum; then mapped
    from [0, 1] to [-1, 1]. With ``resize`` the image is resized to cover ``image_shape`` (bilinear) and its
    centre cropped (see :func:`fit_to_shape`).

    Args:
        image_shape: output ``(height, width)``.
        resize: resize images of another size; when False such an image is an error. Defaults to True.
        slice_axis: the axis a volume is sliced along (after reorienting it to RAS); must match the one the
            datalist was made with (:func:`medmonai.data.image_set`). Defaults to 2 (axial).

    Raises:
        ConfigError: ``image_shape`` is not two sizes of at least 1, or ``slice_axis`` is not 0, 1 or 2.
    """

    backend = [TransformBackends.TORCH]

    def __init__(self, image_shape: Sequence[int], resize: bool = True, slice_axis: int = 2) -> None:
        self.image_shape = tuple(int(s) for s in image_shape)
        if len(self.image_shape) != 2 or min(self.image_shape) < 1 or slice_axis not in (0, 1, 2):
            raise ConfigError(
                f"image_shape must be (height, width) and slice_axis 0, 1 or 2, got {image_shape} and {slice_axis}"
            )
        self.resize = bool(resize)
        self.slice_axis = int(slice_axis)

    def __call__(self, paths: str | Path | Sequence[str | Path], slice_index: int = -1) -> torch.Tensor:
        """Load the channels.

        Args:
            paths: one path per channel (a single path is one channel).
            slice_index: the slice of volume channels (>= 0); -1 for 2-D files. Defaults to -1.

        Returns:
            float32 ``(C, height, width)`` in [-1, 1].

        Raises:
            DataError: naming the file: unreadable, not single-channel, a channel's size differing from the
                first one's, or (``resize`` False) an image not of ``image_shape``.
        """
        paths = [paths] if isinstance(paths, (str, Path)) else list(paths)
        if not paths:
            raise DataError("an item lists no image paths")
        planes = [load_plane(p, int(slice_index), self.slice_axis) for p in paths]
        for path, plane in zip(paths[1:], planes[1:], strict=True):
            if plane.shape != planes[0].shape:
                raise DataError(
                    f"{path}: image is {plane.shape[0]}x{plane.shape[1]}, but channel 0 ({Path(paths[0]).name}) is "
                    f"{planes[0].shape[0]}x{planes[0].shape[1]}"
                )
        image = torch.from_numpy(np.stack(planes)).mul_(2.0).sub_(1.0)
        if tuple(image.shape[-2:]) != self.image_shape:
            if not self.resize:
                height, width = image.shape[-2:]
                raise DataError(
                    f"{paths[0]}: image is {height}x{width}, expected {self.image_shape[0]}x{self.image_shape[1]} "
                    "(set --resize true to resize)"
                )
            image = fit_to_shape(image, self.image_shape)
        return image.clamp(-1.0, 1.0).contiguous()
