"""The preprocessing a shard cache is built with: MONAI transforms that bring every image to one shape and scale."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from typing import Any

import monai
import numpy as np
from monai.transforms import (
    Compose,
    LoadImage,
    NormalizeIntensity,
    Orientation,
    Resize,
    ResizeWithPadOrCrop,
    ScaleIntensity,
    ScaleIntensityRangePercentiles,
    Spacing,
)
from monai.utils import convert_to_numpy

from medmonai.data.shards.cache import CACHE_FORMAT
from medmonai.errors import ConfigError, DataError, reason

__all__ = ["NORMALIZATIONS", "RESIZE_MODES", "MatchChannels", "Preprocess"]

NORMALIZATIONS = ("zscore", "percentile", "minmax", "none")
RESIZE_MODES = ("pad_crop", "resize", "fit")


def _step(name: str, **args: Any) -> dict:
    return {"name": name, "args": args}


def _reader_name(reader: Any) -> str | None:
    if reader is None or isinstance(reader, str):
        return reader
    kind = reader if isinstance(reader, type) else type(reader)
    return f"{kind.__module__}.{kind.__qualname__}"


class Preprocess:
    """Load an image file and bring it to one fixed shape and intensity scale, with MONAI transforms.

    Steps, in order: ``LoadImage`` (any format MONAI reads: NIfTI, PNG, DICOM, ...), channel-first; optionally
    ``Orientation`` and ``Spacing``; ``ResizeWithPadOrCrop`` (``"pad_crop"``), ``Resize`` (``"resize"``) or
    ``Resize`` of the longest side then pad/crop, keeping the aspect ratio (``"fit"``); then a normalisation:
    ``NormalizeIntensity`` (``"zscore"``), ``ScaleIntensityRangePercentiles`` to [0, 1] (``"percentile"``),
    ``ScaleIntensity`` to [0, 1] (``"minmax"``) or none.

    Args:
        shape: the spatial output shape, ``spatial_dims`` sizes.
        spatial_dims: 2 (X-rays) or 3 (volumes). Defaults to 3.
        channels: channels each image must have after loading; a 3- or 4-channel (RGB/RGBA) image is averaged to
            one when ``channels`` is 1. Defaults to 1.
        normalize: one of ``"zscore"``, ``"percentile"``, ``"minmax"``, ``"none"``. Defaults to ``"zscore"``.
        resize: one of ``"pad_crop"``, ``"resize"``, ``"fit"``. Defaults to ``"pad_crop"``.
        orientation: axis codes for ``Orientation`` (e.g. ``"RAS"``), or None to keep the stored orientation.
            Defaults to None.
        pixdim: voxel spacing to resample to with ``Spacing`` (mm), or None to keep it. Defaults to None.
        percentiles: lower and upper percentile for ``"percentile"``. Defaults to (1.0, 99.0).
        nonzero: ``"zscore"`` statistics over nonzero voxels only, leaving zeros as they are (skull-stripped
            brains). Defaults to False.
        interpolation: ``Resize`` mode (``"area"``, ``"bilinear"``, ``"trilinear"``, ...). Defaults to ``"area"``.
        reader: the ``LoadImage`` reader (a name, an ``ImageReader`` class or instance), or None for MONAI's choice
            by file suffix. Defaults to None.

    Raises:
        ConfigError: a setting is out of range.
    """

    def __init__(
        self,
        shape: Sequence[int],
        spatial_dims: int = 3,
        channels: int = 1,
        normalize: str = "zscore",
        resize: str = "pad_crop",
        orientation: str | None = None,
        pixdim: Sequence[float] | None = None,
        percentiles: Sequence[float] = (1.0, 99.0),
        nonzero: bool = False,
        interpolation: str = "area",
        reader: Any = None,
    ) -> None:
        self.shape = tuple(int(s) for s in shape)
        if spatial_dims not in (2, 3) or len(self.shape) != spatial_dims or min(self.shape) < 1:
            raise ConfigError(
                f"spatial_dims must be 2 or 3 and shape as many positive sizes, got {spatial_dims} and {tuple(shape)}"
            )
        if channels < 1:
            raise ConfigError(f"channels must be >= 1, got {channels}")
        if normalize not in NORMALIZATIONS:
            raise ConfigError(f"normalize must be one of {NORMALIZATIONS}, got {normalize!r}")
        if resize not in RESIZE_MODES:
            raise ConfigError(f"resize must be one of {RESIZE_MODES}, got {resize!r}")
        if pixdim is not None and len(pixdim) != spatial_dims:
            raise ConfigError(f"pixdim must have {spatial_dims} spacings, got {pixdim}")
        self.spatial_dims, self.channels = spatial_dims, channels
        self.load = LoadImage(reader=reader, image_only=True, ensure_channel_first=True)
        self.steps = self._steps(normalize, resize, orientation, pixdim, tuple(percentiles), nonzero, interpolation)
        self.steps[0]["args"]["reader"] = _reader_name(reader)
        self.match_channels = MatchChannels(channels, spatial_dims)
        self.transform = Compose([_TRANSFORMS[step["name"]](**step["args"]) for step in self.steps[2:]])

    def _steps(self, normalize, resize, orientation, pixdim, percentiles, nonzero, interpolation) -> list[dict]:
        steps = [_step("LoadImage", image_only=True, ensure_channel_first=True, dtype="float32")]
        steps.append(_step("MatchChannels", channels=self.channels, spatial_dims=self.spatial_dims))
        if orientation is not None:
            steps.append(_step("Orientation", axcodes=orientation))
        if pixdim is not None:
            steps.append(_step("Spacing", pixdim=[float(p) for p in pixdim], mode="bilinear"))
        if resize == "fit":
            steps.append(_step("Resize", spatial_size=max(self.shape), size_mode="longest", mode=interpolation))
        if resize == "resize":
            steps.append(_step("Resize", spatial_size=list(self.shape), mode=interpolation))
        else:
            steps.append(_step("ResizeWithPadOrCrop", spatial_size=list(self.shape)))
        norm = {
            "zscore": _step("NormalizeIntensity", nonzero=nonzero, channel_wise=True),
            "percentile": _step(
                "ScaleIntensityRangePercentiles",
                lower=percentiles[0],
                upper=percentiles[1],
                b_min=0.0,
                b_max=1.0,
                clip=True,
                channel_wise=True,
            ),
            "minmax": _step("ScaleIntensity", minv=0.0, maxv=1.0, channel_wise=True),
        }
        if normalize in norm:
            steps.append(norm[normalize])
        return steps

    @property
    def output_shape(self) -> tuple[int, ...]:
        """``(channels, *shape)`` of every preprocessed image."""
        return (self.channels, *self.shape)

    def spec(self) -> dict:
        """A JSON-able description of every step and its arguments, the MONAI version and a format version."""
        return {
            "format": CACHE_FORMAT,
            "monai": monai.__version__,
            "output_shape": list(self.output_shape),
            "steps": json.loads(json.dumps(self.steps)),
        }

    def __call__(self, path: str | os.PathLike) -> np.ndarray:
        """Preprocess one image file into a float32 ``(channels, *shape)`` array.

        Raises:
            DataError: the file is missing or unreadable, or has the wrong number of dimensions or channels.
        """
        try:
            image = self.load(str(path))
        except FileNotFoundError as e:
            raise DataError(f"{path}: image file not found") from e
        except Exception as e:  # each MONAI reader fails its own way; all of them mean "cannot read this file"
            raise DataError(f"{path}: unreadable image ({reason(e)})") from e
        return convert_to_numpy(self.transform(self.match_channels(image, path)), dtype=np.float32)


class MatchChannels:
    """Bring a loaded channel-first image to ``channels`` channels and ``spatial_dims`` spatial dimensions.

    Trailing size-1 spatial axes are dropped (a 2-D DICOM read as ``(1, H, W, 1)``); an RGB or RGBA image is averaged
    to one channel when one is wanted (some chest X-ray PNGs are stored as RGBA).
    """

    def __init__(self, channels: int, spatial_dims: int) -> None:
        self.channels, self.spatial_dims = channels, spatial_dims

    def __call__(self, image: Any, path: Any = "image") -> Any:
        """Return ``image`` as ``(channels, *spatial)``; raises DataError naming ``path`` when it cannot be."""
        while image.ndim - 1 > self.spatial_dims and image.shape[-1] == 1:
            image = image[..., 0]
        if image.ndim - 1 != self.spatial_dims:
            raise DataError(
                f"{path}: image has {image.ndim - 1} spatial dimensions {tuple(image.shape[1:])}, "
                f"expected {self.spatial_dims}"
            )
        if image.shape[0] != self.channels:
            if self.channels == 1 and image.shape[0] in (3, 4):
                return image[:3].mean(dim=0, keepdim=True)
            raise DataError(f"{path}: image has {image.shape[0]} channels, expected {self.channels}")
        return image


_TRANSFORMS = {
    "Orientation": Orientation,
    "Spacing": Spacing,
    "Resize": Resize,
    "ResizeWithPadOrCrop": ResizeWithPadOrCrop,
    "NormalizeIntensity": NormalizeIntensity,
    "ScaleIntensityRangePercentiles": ScaleIntensityRangePercentiles,
    "ScaleIntensity": ScaleIntensity,
}
