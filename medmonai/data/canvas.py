"""Fitting images into a box centred on a larger zero canvas, as MNIST lays out its digits."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from monai.config import NdarrayOrTensor
from monai.transforms import Resize, SpatialPad
from monai.utils import convert_to_dst_type, ensure_tuple

from medmonai.errors import ConfigError

__all__ = ["canvas_sizes", "fit_to_canvas"]


def canvas_sizes(box_size: Sequence[int], canvas_size: Sequence[int]) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """``(box, canvas)`` as tuples, checked: the box must fit inside the canvas dim by dim.

    Raises:
        ConfigError: ``box_size`` and ``canvas_size`` differ in length or the box does not fit the canvas.
    """
    box, canvas = ensure_tuple(box_size), ensure_tuple(canvas_size)
    if len(box) != len(canvas) or any(b < 1 or b > c for b, c in zip(box, canvas, strict=True)):
        raise ConfigError(f"box_size must fit inside canvas_size dim by dim, got {box} and {canvas}")
    return box, canvas


def fit_to_canvas(
    img: NdarrayOrTensor,
    box_size: Sequence[int] = (20, 20),
    canvas_size: Sequence[int] = (28, 28),
    mode: str = "bilinear",
) -> NdarrayOrTensor:
    """Resize ``img`` into a box and centre the box on a larger zero canvas.

    This is MNIST's own layout: each digit was size-normalised into a 20x20 box and centred in a 28x28 image.
    Resizing uses MONAI's ``Resize`` (bilinear by default, which never overshoots the input range) and padding
    uses ``SpatialPad``.

    Args:
        img: channel-first image ``(C, H, W[, D])``; all channels are resized alike, so a stack of N
            single-channel images may be passed as ``(N, H, W)`` and resized in one call.
        box_size: spatial size the content is resized to. Defaults to ``(20, 20)``.
        canvas_size: spatial size of the output; each dim must be >= ``box_size``. Defaults to ``(28, 28)``.
        mode: interpolation mode passed to ``Resize``. Defaults to ``"bilinear"``.

    Returns:
        ``(C, *canvas_size)`` of the input's type; values stay within the input's range extended to 0.

    Raises:
        ConfigError: the box does not fit the canvas (see :func:`canvas_sizes`).
        ValueError: ``img`` does not have ``1 + len(box_size)`` dims.
    """
    box, canvas = canvas_sizes(box_size, canvas_size)
    if img.ndim != len(box) + 1:
        raise ValueError(f"img must have shape (C, {len(box)} spatial dims), got {tuple(img.shape)}")
    tensor = torch.as_tensor(img, dtype=torch.float32)
    resize = Resize(spatial_size=box, mode=mode, anti_aliasing=False)
    out = SpatialPad(spatial_size=canvas, mode="constant", value=0)(resize(tensor))
    # keep bicubic modes from overshooting; the zero padding is part of the valid range
    low, high = min(float(tensor.min()), 0.0), max(float(tensor.max()), 0.0)
    out = torch.as_tensor(out).clamp(low, high)
    return convert_to_dst_type(out, img, dtype=out.dtype)[0]
