"""Progressive growing of GANs (PGGAN, Karras et al. 2018): a generator and discriminator that grow by stages.

Stage ``s`` works at ``base_shape * 2**s``. While stage ``s`` fades in, its new block is blended with the
previous stage's output path by ``alpha`` (0: only the previous stage, upsampled; 1: only the new block). The
current stage and ``alpha`` are registered buffers, so a checkpoint resumes at the same point of the schedule.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from medmonai.errors import ConfigError
from medmonai.networks.gan.layers import EqualizedConv2d, EqualizedLinear, MinibatchStdDev, PixelNorm, check_positive

__all__ = ["ProgressiveGenerator", "ProgressiveDiscriminator"]

SLOPE = 0.2  # leaky ReLU slope, as in PGGAN


class _Progressive(nn.Module):
    """The stage schedule shared by the generator and discriminator: validation, channels and progress buffers."""

    def __init__(
        self,
        base_shape: Sequence[int],
        n_stages: int,
        channel_base: int,
        max_channels: int,
        min_channels: int,
        **sizes: int,
    ) -> None:
        super().__init__()
        check_positive(
            n_stages=n_stages, channel_base=channel_base, max_channels=max_channels, min_channels=min_channels, **sizes
        )
        shape = tuple(base_shape)
        if len(shape) != 2 or any(isinstance(s, bool) or not isinstance(s, int) or not 1 <= s <= 16 for s in shape):
            raise ConfigError(f"base_shape {shape!r}: need two integer sides from 1 to 16, e.g. (4, 4) or (5, 4)")
        if min_channels > max_channels:
            raise ConfigError(f"min_channels {min_channels} is above max_channels {max_channels}")
        self.base_shape: tuple[int, int] = (shape[0], shape[1])
        self.n_stages = n_stages
        # channels per stage: clamp(channel_base / 2**s, min_channels, max_channels), as PGGAN's nf()
        self.channels = [min(max(channel_base // 2**s, min_channels), max_channels) for s in range(n_stages)]
        self.register_buffer("stage", torch.tensor(n_stages - 1, dtype=torch.long))
        self.register_buffer("alpha", torch.tensor(1.0))

    def set_progress(self, stage: int, alpha: float = 1.0) -> None:
        """Train or run at ``stage`` (0-based), fading its new block in with ``alpha`` in [0, 1].

        Raises:
            ConfigError: ``stage`` outside ``0..n_stages - 1`` or ``alpha`` outside [0, 1].
        """
        stage, alpha = int(stage), float(alpha)
        if not 0 <= stage < self.n_stages:
            raise ConfigError(f"stage {stage}: choose 0..{self.n_stages - 1} (n_stages={self.n_stages})")
        if not 0.0 <= alpha <= 1.0:
            raise ConfigError(f"alpha {alpha}: choose a value in [0, 1]")
        self.stage.fill_(stage)  # in place: the buffers stay on their device
        self.alpha.fill_(alpha)

    def output_shape(self, stage: int | None = None) -> tuple[int, int]:
        """``(H, W)`` at ``stage``, or at the current stage when None: ``base_shape * 2**stage``.

        Raises:
            ConfigError: ``stage`` outside ``0..n_stages - 1``.
        """
        stage = int(self.stage) if stage is None else int(stage)
        if not 0 <= stage < self.n_stages:
            raise ConfigError(f"stage {stage}: choose 0..{self.n_stages - 1} (n_stages={self.n_stages})")
        return self.base_shape[0] * 2**stage, self.base_shape[1] * 2**stage


class _GeneratorBlock(nn.Sequential):
    """A 2x nearest upsampling, then two 3x3 equalised convs, each followed by leaky ReLU and pixel norm."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        layers: list[nn.Module] = [nn.Upsample(scale_factor=2, mode="nearest")]
        for c_in in (in_channels, out_channels):
            layers += [EqualizedConv2d(c_in, out_channels, 3), nn.LeakyReLU(SLOPE), PixelNorm()]
        super().__init__(*layers)


class ProgressiveGenerator(_Progressive):
    """PGGAN generator: latent ``z`` to ``out_channels`` images in [-1, 1] at the current stage's size.

    The latent is pixel-normalised, mapped by an equalised linear layer to a ``(channels[0], base_h, base_w)`` map
    (so any base shape works), then each stage doubles the size with a block of two 3x3 convs; every conv is
    followed by leaky ReLU 0.2 and pixel norm. Each stage has a 1x1 "toRGB" conv; at stage ``s`` the output is
    ``tanh(alpha * toRGB_s(block_s(h)) + (1 - alpha) * upsample(toRGB_{s-1}(h)))``. The ``out_channels`` channels
    are generated jointly (for example two views, or T1 and T2 of one subject).

    Built at the last stage with ``alpha = 1``: a fresh generator makes full-size images.

    Args:
        latent_size: dimension of ``z``. Defaults to 256.
        out_channels: image channels. Defaults to 1.
        base_shape: ``(base_h, base_w)`` of stage 0, sides 1..16. Defaults to (4, 4).
        n_stages: stages including the base one; the last makes ``base_shape * 2**(n_stages - 1)``. Defaults to 5.
        channel_base: channels at stage ``s`` are ``clamp(channel_base / 2**s, min_channels, max_channels)``.
            Defaults to 4096.
        max_channels: cap on the channels. Defaults to 256.
        min_channels: floor on the channels. Defaults to 16.

    Raises:
        ConfigError: a size or channel count < 1, a base side outside 1..16, or ``min_channels > max_channels``.
    """

    def __init__(
        self,
        latent_size: int = 256,
        out_channels: int = 1,
        base_shape: Sequence[int] = (4, 4),
        n_stages: int = 5,
        channel_base: int = 4096,
        max_channels: int = 256,
        min_channels: int = 16,
    ) -> None:
        super().__init__(
            base_shape,
            n_stages,
            channel_base,
            max_channels,
            min_channels,
            latent_size=latent_size,
            out_channels=out_channels,
        )
        self.latent_size = latent_size
        self.out_channels = out_channels
        c0, (bh, bw) = self.channels[0], self.base_shape
        self.latent_norm = PixelNorm()
        # PGGAN's gain for the dense layer is sqrt(2) / 4 at a 4x4 base: He's gain over the kernel side
        self.project = EqualizedLinear(latent_size, c0 * bh * bw, gain=math.sqrt(2.0 / (bh * bw)))
        self.project_act = nn.Sequential(nn.LeakyReLU(SLOPE), PixelNorm())
        first = [EqualizedConv2d(c0, c0, 3), nn.LeakyReLU(SLOPE), PixelNorm()]
        later = [
            _GeneratorBlock(c_in, c_out) for c_in, c_out in zip(self.channels[:-1], self.channels[1:], strict=True)
        ]
        self.blocks = nn.ModuleList([nn.Sequential(*first), *later])
        self.to_rgb = nn.ModuleList([EqualizedConv2d(c, out_channels, 1, gain=1.0) for c in self.channels])

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """``(B, latent_size)`` to ``(B, out_channels, *output_shape())`` in [-1, 1]."""
        stage, alpha = int(self.stage), float(self.alpha)
        h = self.project(self.latent_norm(z)).view(z.shape[0], self.channels[0], *self.base_shape)
        h = self.project_act(h)
        for block in self.blocks[:stage]:
            h = block(h)
        rgb = self.to_rgb[stage](self.blocks[stage](h))
        if stage > 0 and alpha < 1.0:  # fade-in: blend with the previous stage's image, upsampled
            previous = F.interpolate(self.to_rgb[stage - 1](h), scale_factor=2, mode="nearest")
            rgb = torch.lerp(previous, rgb, alpha)
        return torch.tanh(rgb)


class ProgressiveDiscriminator(_Progressive):
    """PGGAN discriminator: an image at the current stage's size to one raw score (critic value or logit).

    Mirrors :class:`ProgressiveGenerator`: each stage has a 1x1 "fromRGB" conv and a block of two 3x3 convs and a
    2x average pooling; while stage ``s`` fades in, the block's output is blended with ``fromRGB_{s-1}`` of the
    2x average-pooled image by ``alpha``. The last block (at the base shape) appends the minibatch standard
    deviation channel, then a 3x3 conv, an equalised linear layer (its output is :meth:`features`) and a linear
    score. Leaky ReLU 0.2 throughout, equalised learning rate, no normalisation (PGGAN's choice; no batch norm).

    Args:
        in_channels: image channels. Defaults to 1.
        base_shape: ``(base_h, base_w)`` of stage 0, sides 1..16. Defaults to (4, 4).
        n_stages: stages including the base one. Defaults to 5.
        channel_base: channels at stage ``s`` are ``clamp(channel_base / 2**s, min_channels, max_channels)``;
            use the generator's settings. Defaults to 4096.
        max_channels: cap on the channels. Defaults to 256.
        min_channels: floor on the channels. Defaults to 16.
        mbstd_group: largest group of the minibatch standard deviation; the group used is the largest divisor of
            the batch size up to it (see :class:`~medmonai.networks.gan.layers.MinibatchStdDev`). Defaults to 4.

    Raises:
        ConfigError: a size or channel count < 1, a base side outside 1..16, or ``min_channels > max_channels``.
    """

    def __init__(
        self,
        in_channels: int = 1,
        base_shape: Sequence[int] = (4, 4),
        n_stages: int = 5,
        channel_base: int = 4096,
        max_channels: int = 256,
        min_channels: int = 16,
        mbstd_group: int = 4,
    ) -> None:
        super().__init__(
            base_shape,
            n_stages,
            channel_base,
            max_channels,
            min_channels,
            in_channels=in_channels,
            mbstd_group=mbstd_group,
        )
        self.in_channels = in_channels
        c0, (bh, bw) = self.channels[0], self.base_shape
        self.from_rgb = nn.ModuleList(
            [nn.Sequential(EqualizedConv2d(in_channels, c, 1), nn.LeakyReLU(SLOPE)) for c in self.channels]
        )
        # blocks[s] takes stage s's size and channels to stage s - 1's; blocks[0] is the final block
        later = [
            nn.Sequential(
                EqualizedConv2d(c_out, c_out, 3),
                nn.LeakyReLU(SLOPE),
                EqualizedConv2d(c_out, c_in, 3),
                nn.LeakyReLU(SLOPE),
                nn.AvgPool2d(2),
            )
            for c_in, c_out in zip(self.channels[:-1], self.channels[1:], strict=True)
        ]
        final = nn.Sequential(
            MinibatchStdDev(mbstd_group),
            EqualizedConv2d(c0 + 1, c0, 3),
            nn.LeakyReLU(SLOPE),
            nn.Flatten(),
            EqualizedLinear(c0 * bh * bw, c0),
            nn.LeakyReLU(SLOPE),
        )
        self.blocks = nn.ModuleList([final, *later])
        self.score = EqualizedLinear(c0, 1, gain=1.0)
        self.feature_size = c0

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The penultimate activations ``(B, channels[0])``: the last hidden layer, before the score."""
        stage, alpha = int(self.stage), float(self.alpha)
        expected = self.output_shape(stage)
        if tuple(x.shape[-2:]) != expected:
            raise ValueError(f"input of size {tuple(x.shape[-2:])} at stage {stage}: expected {expected}")
        h = self.blocks[stage](self.from_rgb[stage](x))
        if stage > 0 and alpha < 1.0:  # fade-in: blend with the previous stage's path on the pooled image
            h = torch.lerp(self.from_rgb[stage - 1](F.avg_pool2d(x, 2)), h, alpha)
        for block in reversed(self.blocks[:stage]):
            h = block(h)
        return h

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, in_channels, *output_shape())`` to raw scores ``(B,)``, no sigmoid."""
        return self.score(self.features(x)).flatten()
