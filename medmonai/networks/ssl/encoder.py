"""The convolutional encoder every self-supervised model shares: strided conv stages, global pooling, a linear head.

It is fully convolutional up to the global average pooling, so one encoder takes whole volumes, patches of any
size, 2-D images or 3-D volumes. Normalisation is per sample (group or instance norm): batch norm couples the
samples of a batch, which breaks with small batches, with contrastive negatives drawn from the same batch, and
under DistributedDataParallel (each rank would keep its own running statistics).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence

import torch
from monai.networks.blocks import Convolution, ResidualUnit
from monai.networks.layers.factories import split_args
from torch import nn

from medmonai.errors import ConfigError

__all__ = ["SSLEncoder", "check_spatial_dims", "stage_shapes"]

logger = logging.getLogger(__name__)

DEFAULT_NORM = ("group", {"num_groups": 8})


def check_spatial_dims(spatial_dims: int) -> None:
    """Refuse anything but 2-D or 3-D.

    Raises:
        ConfigError: ``spatial_dims`` is not 2 or 3.
    """
    if spatial_dims not in (2, 3):
        raise ConfigError(f"spatial_dims must be 2 or 3, got {spatial_dims!r}")


def stage_shapes(spatial_shape: Sequence[int], strides: Sequence[int]) -> list[tuple[int, ...]]:
    """The spatial shape after each encoder stage (a 3-wide convolution with padding 1 gives ``ceil(n / s)``).

    Args:
        spatial_shape: input spatial shape.
        strides: stride of each stage.

    Returns:
        One shape per stage, the input shape excluded.
    """
    shapes, shape = [], tuple(int(n) for n in spatial_shape)
    for stride in strides:
        shape = tuple(-(-n // int(stride)) for n in shape)
        shapes.append(shape)
    return shapes


def _check_norm(norm: str | tuple, channels: Sequence[int]) -> None:
    name, kwargs = split_args(norm)
    name = str(name).lower()
    if name.startswith("batch") or name.startswith("syncbatch"):
        raise ConfigError(f"norm must be per-sample (group or instance), got {norm!r}: batch norm breaks under DDP")
    groups = kwargs.get("num_groups")
    if name == "group" and (groups is None or any(c % int(groups) for c in channels)):
        raise ConfigError(f"group norm needs num_groups dividing every channel count {tuple(channels)}, got {groups}")


class SSLEncoder(nn.Module):
    """Strided convolution stages (MONAI blocks), average pooling to a fixed grid, then a linear ``embedding_dim``.

    Each stage is a MONAI ``Convolution`` (norm, then activation) with the stage's stride, or a ``ResidualUnit`` with
    ``num_res_units`` sub-units. A 3-wide convolution with padding 1 and stride 2 maps ``n`` voxels to
    ``ceil(n / 2)``, so any input of at least ``2 ** len(strides)`` voxels per side works, and the pooled
    features do not depend on the input size.

    ``pool_size`` 1 is global average pooling: the features say what the image holds, not where. A coarse grid
    (e.g. 3 per axis, the whole last feature map of a 40x48x40 volume) keeps where as well, which aligned
    whole-brain volumes need: ventricle and cortex changes are local, and a global average dilutes them.

    Args:
        spatial_dims: 2 or 3.
        in_channels: image channels. Defaults to 1.
        embedding_dim: size of the output vector. Defaults to 64.
        channels: output channels of each stage. Defaults to ``(16, 32, 64, 64)``.
        strides: stride of each stage, as many as ``channels``. Defaults to ``(2, 2, 2, 2)``.
        num_res_units: sub-units of a ``ResidualUnit`` per stage; 0 uses one plain convolution. Defaults to 0.
        norm: MONAI norm spec; per-sample only. Defaults to group norm with 8 groups.
        act: MONAI activation spec. Defaults to ``"relu"`` (PReLU's backward pass is several times slower on CPU).
        pool_size: cells per axis of the average-pooling grid, one int or one per axis; 1 is global average
            pooling. Defaults to 1.

    Raises:
        ConfigError: ``spatial_dims`` is not 2 or 3, ``strides`` and ``channels`` differ in length, a size is not
            positive, or ``norm`` is batch norm or has groups that do not divide the channels.
    """

    def __init__(
        self,
        spatial_dims: int,
        in_channels: int = 1,
        embedding_dim: int = 64,
        channels: Sequence[int] = (16, 32, 64, 64),
        strides: Sequence[int] = (2, 2, 2, 2),
        num_res_units: int = 0,
        norm: str | tuple = DEFAULT_NORM,
        act: str | tuple = "relu",
        pool_size: int | Sequence[int] = 1,
    ) -> None:
        super().__init__()
        check_spatial_dims(spatial_dims)
        if len(channels) == 0 or len(strides) != len(channels):
            raise ConfigError(f"strides must have one entry per channel stage {tuple(channels)}, got {tuple(strides)}")
        pool = (pool_size,) * spatial_dims if isinstance(pool_size, int) else tuple(pool_size)
        if len(pool) != spatial_dims or min(in_channels, embedding_dim, *channels, *strides, *pool) < 1:
            raise ConfigError(
                f"channels, strides, in_channels, embedding_dim and pool_size ({spatial_dims} sizes) must be >= 1, "
                f"got {tuple(channels)}, {tuple(strides)}, {in_channels}, {embedding_dim}, {pool_size!r}"
            )
        _check_norm(norm, channels)
        self.spatial_dims = spatial_dims
        self.in_channels = in_channels
        self.embedding_dim = embedding_dim
        self.strides = tuple(int(s) for s in strides)
        stages, previous = [], in_channels
        for width, stride in zip(channels, strides, strict=True):
            if num_res_units > 0:
                stage = ResidualUnit(
                    spatial_dims, previous, width, strides=stride, subunits=num_res_units, norm=norm, act=act
                )
            else:
                stage = Convolution(spatial_dims, previous, width, strides=stride, norm=norm, act=act)
            stages.append(stage)
            previous = width
        self.stages = nn.Sequential(*stages)
        self.pool = (nn.AdaptiveAvgPool2d if spatial_dims == 2 else nn.AdaptiveAvgPool3d)(pool)
        self.feature_dim = previous * math.prod(pool)
        self.head = nn.Linear(self.feature_dim, embedding_dim)

    def feature_maps(self, images: torch.Tensor) -> torch.Tensor:
        """``(B, in_channels, *spatial)`` images to the last stage's ``(B, feature_dim, *spatial / strides)`` maps."""
        if images.ndim != self.spatial_dims + 2 or images.shape[1] != self.in_channels:
            raise ValueError(
                f"images must have shape (B, {self.in_channels}, {self.spatial_dims} spatial dims), "
                f"got {tuple(images.shape)}"
            )
        return self.stages(images)

    def features(self, images: torch.Tensor) -> torch.Tensor:
        """The last stage's maps averaged over each cell of the pooling grid and flattened, ``(B, feature_dim)``."""
        return self.pool(self.feature_maps(images)).flatten(1)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """Map ``(B, in_channels, *spatial)`` images to ``(B, embedding_dim)`` embeddings.

        Raises:
            ValueError: the images do not have ``spatial_dims + 2`` dimensions and ``in_channels`` channels.
        """
        return self.head(self.features(images))
