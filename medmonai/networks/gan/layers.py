"""Pieces shared by the GANs: PGGAN's equalised layers, pixel norm and minibatch stddev, and shape checks.

The PGGAN ingredients (Karras et al. 2018, "Progressive Growing of GANs") are not in MONAI:

- equalised learning rate: weights are drawn from N(0, 1) and multiplied at run time by He's constant
  ``gain / sqrt(fan_in)``, so every layer learns at the same speed under Adam whatever its fan-in;
- pixel-wise feature normalisation: every feature vector (one pixel, all channels) is scaled to unit mean square;
- minibatch standard deviation: the discriminator sees how varied the batch is, which discourages mode collapse.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from medmonai.errors import ConfigError

__all__ = [
    "EqualizedConv2d",
    "EqualizedLinear",
    "PixelNorm",
    "MinibatchStdDev",
    "DISCRIMINATOR_NORMS",
    "norm_spec",
    "halve_to_base",
    "check_positive",
]

# Discriminator norms: no BatchNorm, which mixes samples (breaking the per-sample WGAN-GP penalty) and
# needs synchronising under DDP. "layer" is GroupNorm with one group: normalises over (C, H, W) per sample.
DISCRIMINATOR_NORMS = {"instance": ("instance", {"affine": True}), "layer": ("group", {"num_groups": 1}), "none": None}


class EqualizedConv2d(nn.Module):
    """A 2-D convolution with an equalised learning rate: N(0, 1) weights scaled by ``gain / sqrt(fan_in)``.

    Deliberately not an ``nn.Conv2d`` subclass, so a loop that re-initialises every ``nn.Conv2d`` (as DCGAN
    training scripts do) cannot undo the N(0, 1) initialisation.

    Args:
        in_channels: input channels.
        out_channels: output channels.
        kernel_size: square kernel side.
        stride: stride. Defaults to 1.
        padding: zero padding; None for ``kernel_size // 2`` (same size for odd kernels). Defaults to None.
        bias: add a learnable bias, initialised to zero. Defaults to True.
        gain: He's gain: sqrt(2) before a (leaky) ReLU, 1 before a linear output. Defaults to sqrt(2).
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int,
        stride: int = 1,
        padding: int | None = None,
        bias: bool = True,
        gain: float = math.sqrt(2.0),
    ) -> None:
        super().__init__()
        self.stride = stride
        self.padding = kernel_size // 2 if padding is None else padding
        self.weight = nn.Parameter(torch.randn(out_channels, in_channels, kernel_size, kernel_size))
        self.bias = nn.Parameter(torch.zeros(out_channels)) if bias else None
        self.scale = gain / math.sqrt(in_channels * kernel_size * kernel_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Convolve ``x`` with the scaled weights."""
        return F.conv2d(x, self.weight * self.scale, self.bias, self.stride, self.padding)

    def extra_repr(self) -> str:
        """Shape, stride, padding and run-time scale."""
        out_c, in_c, k, _ = self.weight.shape
        return f"{in_c}, {out_c}, kernel_size={k}, stride={self.stride}, padding={self.padding}, scale={self.scale:.4g}"


class EqualizedLinear(nn.Module):
    """A linear layer with an equalised learning rate: N(0, 1) weights scaled by ``gain / sqrt(in_features)``.

    Args:
        in_features: input features.
        out_features: output features.
        bias: add a learnable bias, initialised to zero. Defaults to True.
        gain: He's gain: sqrt(2) before a (leaky) ReLU, 1 before a linear output. Defaults to sqrt(2).
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True, gain: float = math.sqrt(2.0)) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.randn(out_features, in_features))
        self.bias = nn.Parameter(torch.zeros(out_features)) if bias else None
        self.scale = gain / math.sqrt(in_features)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Apply the scaled weights to ``x`` of shape ``(..., in_features)``."""
        return F.linear(x, self.weight * self.scale, self.bias)

    def extra_repr(self) -> str:
        """Shape and run-time scale."""
        out_f, in_f = self.weight.shape
        return f"{in_f}, {out_f}, scale={self.scale:.4g}"


class PixelNorm(nn.Module):
    """Scale every feature vector (dim 1) to unit mean square: ``x / sqrt(mean(x**2, dim=1) + eps)``.

    Works on latents ``(B, F)`` and feature maps ``(B, C, H, W)`` alike.

    Args:
        eps: keeps an all-zero vector finite. Defaults to 1e-8.
    """

    def __init__(self, eps: float = 1e-8) -> None:
        super().__init__()
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Normalise ``x`` over its channel dimension."""
        return x * torch.rsqrt(x.pow(2).mean(dim=1, keepdim=True) + self.eps)


class MinibatchStdDev(nn.Module):
    """Append one channel: the standard deviation across groups of samples, averaged over features and pixels.

    As in PGGAN, the batch is split into ``B / G`` groups of ``G`` samples (sample ``i`` is in group ``i % (B / G)``),
    the (biased) standard deviation of each feature and pixel is taken within each group, averaged to one number
    per group and broadcast as an extra channel to that group's samples.

    ``G`` is the largest divisor of the batch size that is at most ``group_size``, so any batch works: batch 6 with
    ``group_size=4`` uses groups of 3; batch 1 uses a group of 1, whose standard deviation is 0 (the channel is then
    a constant ``sqrt(eps)`` and carries no information).

    Args:
        group_size: the largest group. Defaults to 4.
        eps: added to the variance before the square root, so its gradient stays finite. Defaults to 1e-8.

    Raises:
        ConfigError: ``group_size`` < 1.
    """

    def __init__(self, group_size: int = 4, eps: float = 1e-8) -> None:
        super().__init__()
        check_positive(mbstd_group=group_size)
        self.group_size = group_size
        self.eps = eps

    def group_for(self, batch_size: int) -> int:
        """The group size used for a batch of ``batch_size``: the largest divisor <= ``group_size``."""
        group = min(self.group_size, batch_size)
        while batch_size % group:
            group -= 1
        return group

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, C, H, W)`` to ``(B, C + 1, H, W)``."""
        b, _, h, w = x.shape
        group = self.group_for(b)
        y = x.reshape(group, -1, *x.shape[1:])  # (G, B/G, C, H, W): group members are B/G samples apart
        std = torch.sqrt(y.var(dim=0, unbiased=False) + self.eps)  # (B/G, C, H, W)
        std = std.mean(dim=(1, 2, 3))[:, None, None, None]  # (B/G, 1, 1, 1)
        return torch.cat([x, std.repeat(group, 1, h, w)], dim=1)

    def extra_repr(self) -> str:
        """The largest group size."""
        return f"group_size={self.group_size}"


def norm_spec(norm: str) -> tuple[str, dict] | None:
    """MONAI's norm spec (for ``monai.networks.blocks.Convolution``) of a discriminator or encoder norm name.

    Args:
        norm: ``"instance"``, ``"layer"`` or ``"none"``.

    Returns:
        ``(name, kwargs)``, or None for ``"none"``.

    Raises:
        ConfigError: ``norm`` is not one of those.
    """
    if norm not in DISCRIMINATOR_NORMS:
        raise ConfigError(f"norm {norm!r}: choose one of {', '.join(map(repr, DISCRIMINATOR_NORMS))} (no batch norm)")
    return DISCRIMINATOR_NORMS[norm]


def halve_to_base(image_shape: Sequence[int], model: str, max_base_side: int) -> tuple[tuple[int, int], int]:
    """Split ``(H, W)`` into a small base shape and a number of halvings: ``(H, W) = base * 2**k``.

    Both sides are halved together while both are even and the shorter one stays >= 4, so 64x64 is 4x4 * 2**4,
    128x64 is 8x4 * 2**4 and 1280x1024 is 5x4 * 2**8.

    Args:
        image_shape: ``(H, W)``.
        model: the network's name, for the error message.
        max_base_side: the largest shorter base side accepted (7 for a DCGAN: sides are powers of two times 4..7).

    Returns:
        ``((base_h, base_w), k)`` with ``k >= 1``.

    Raises:
        ConfigError: ``image_shape`` is not two positive sides that halve at least once to such a base.
    """
    shape = tuple(int(side) for side in image_shape)
    base, k = shape, 0
    while len(base) == 2 and min(base) >= 8 and base[0] % 2 == 0 and base[1] % 2 == 0:
        base, k = (base[0] // 2, base[1] // 2), k + 1
    if len(shape) != 2 or k < 1 or min(base) > max_base_side:
        shown = "x".join(map(str, shape))
        raise ConfigError(
            f"image_shape {shown}: {model} needs sides that are powers of two (>= 8), or a common base with shorter "
            f"side 4..{max_base_side} times a power of two, e.g. 64x64, 128x64 or 80x64"
        )
    return (base[0], base[1]), k


def check_positive(**settings: int) -> None:
    """Raise :class:`ConfigError` naming the first setting that is not an integer >= 1."""
    for name, value in settings.items():
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ConfigError(f"{name} must be an integer >= 1, got {value!r}")
