"""DCGAN generator and discriminator (Radford et al. 2016) for 2-D images of any power-of-two-times-base shape."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from monai.networks.blocks import Convolution
from torch import nn

from medmonai.errors import ConfigError
from medmonai.networks.gan.layers import check_positive, halve_to_base, norm_spec

__all__ = ["DCGANGenerator", "DCGANDiscriminator", "widths"]

LEAKY = ("leakyrelu", {"negative_slope": 0.2})


def widths(halvings: int, base_channels: int, max_channels: int) -> list[int]:
    """Channels after each stride-2 conv of a DCGAN-style encoder: ``base * 2**i``, capped at ``max_channels``.

    Entry ``i`` is the width at ``1 / 2**(i + 1)`` of the image size; a generator uses the list reversed.
    """
    return [min(base_channels * 2**i, max_channels) for i in range(halvings)]


def down_block(in_channels: int, out_channels: int, norm: str) -> Convolution:
    """A stride-2 4x4 conv halving the image, then the norm (if any) and leaky ReLU 0.2."""
    spec = norm_spec(norm)
    return Convolution(
        2, in_channels, out_channels, strides=2, kernel_size=4, padding=1, act=LEAKY, norm=spec, bias=spec is None
    )


class DCGANGenerator(nn.Module):
    """Latent ``z`` to an image in [-1, 1]: a transposed conv to the base shape, then stride-2 transposed convs.

    As in Radford et al.: the first transposed conv maps ``z`` (as a 1x1 map) to the base shape (4x4 for a square
    power-of-two image, 8x4 for 128x64), each following 4x4 stride-2 transposed conv doubles the size and halves the
    channels, with batch norm and ReLU between them and tanh at the output.

    Args:
        latent_size: dimension of ``z``. Defaults to 128.
        out_channels: image channels. Defaults to 1.
        image_shape: ``(H, W)`` of the output; powers of two >= 8, or a common base (shorter side 4..7) times a
            power of two. Defaults to (64, 64).
        base_channels: channels before the output layer, doubled towards the base. Defaults to 64.
        max_channels: cap on the channels. Defaults to 512.

    Raises:
        ConfigError: a bad ``image_shape`` or a size or channel count < 1.
    """

    def __init__(
        self,
        latent_size: int = 128,
        out_channels: int = 1,
        image_shape: Sequence[int] = (64, 64),
        base_channels: int = 64,
        max_channels: int = 512,
    ) -> None:
        super().__init__()
        check_positive(
            latent_size=latent_size, out_channels=out_channels, base_channels=base_channels, max_channels=max_channels
        )
        base, halvings = halve_to_base(image_shape, "DCGAN", max_base_side=7)
        self.latent_size = latent_size
        self.out_channels = out_channels
        self.image_shape = (base[0] * 2**halvings, base[1] * 2**halvings)
        chans = widths(halvings, base_channels, max_channels)[::-1]  # from the base up to half the image size
        project = Convolution(
            2,
            latent_size,
            chans[0],
            kernel_size=base,
            padding=0,
            act="relu",
            norm="batch",
            bias=False,
            is_transposed=True,
            output_padding=0,
            strides=1,
        )
        ups = [
            Convolution(
                2,
                c_in,
                c_out,
                strides=2,
                kernel_size=4,
                padding=1,
                act="relu",
                norm="batch",
                bias=False,
                is_transposed=True,
                output_padding=0,
            )
            for c_in, c_out in zip(chans[:-1], chans[1:], strict=True)
        ]
        to_image = nn.ConvTranspose2d(chans[-1], out_channels, 4, stride=2, padding=1)
        self.net = nn.Sequential(project, *ups, to_image, nn.Tanh())

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """``(B, latent_size)`` to ``(B, out_channels, H, W)`` in [-1, 1]."""
        return self.net(z[:, :, None, None])

    def output_shape(self, stage: int | None = None) -> tuple[int, int]:
        """``(H, W)`` of the output; a DCGAN has one stage, so ``stage`` may only be None or 0.

        Raises:
            ConfigError: ``stage`` is not None or 0.
        """
        if stage not in (None, 0):
            raise ConfigError(f"stage {stage!r}: a DCGAN has one stage, use None or 0")
        return self.image_shape


class DCGANDiscriminator(nn.Module):
    """An image to one raw score (logit or critic value): stride-2 convs down to the base shape, then one conv.

    Mirrors :class:`DCGANGenerator`: 4x4 stride-2 convs with leaky ReLU 0.2 (no norm on the first), then a conv
    with the base shape as kernel gives one number per image. No batch norm: ``norm`` is instance norm, layer norm
    or none, which keeps each sample's score independent of the batch (needed by the WGAN-GP penalty and DDP).

    Args:
        in_channels: image channels. Defaults to 1.
        image_shape: ``(H, W)`` of the input, as for :class:`DCGANGenerator`. Defaults to (64, 64).
        base_channels: channels of the first conv, doubled per halving. Defaults to 64.
        max_channels: cap on the channels. Defaults to 512.
        norm: ``"instance"``, ``"layer"`` or ``"none"``. Defaults to ``"instance"``.

    Raises:
        ConfigError: a bad ``image_shape`` or ``norm``, or a channel count < 1.
    """

    def __init__(
        self,
        in_channels: int = 1,
        image_shape: Sequence[int] = (64, 64),
        base_channels: int = 64,
        max_channels: int = 512,
        norm: str = "instance",
    ) -> None:
        super().__init__()
        check_positive(in_channels=in_channels, base_channels=base_channels, max_channels=max_channels)
        norm_spec(norm)  # a bad name fails before any layer is built
        base, halvings = halve_to_base(image_shape, "DCGAN", max_base_side=7)
        chans = widths(halvings, base_channels, max_channels)
        blocks = [down_block(in_channels, chans[0], "none")]  # Radford et al.: no norm on the input layer
        blocks += [down_block(c_in, c_out, norm) for c_in, c_out in zip(chans[:-1], chans[1:], strict=True)]
        self.body = nn.Sequential(*blocks)
        self.score = nn.Conv2d(chans[-1], 1, kernel_size=base)
        self.feature_size = chans[-1] * base[0] * base[1]

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The penultimate activations (the base-shape feature map, flattened): ``(B, feature_size)``."""
        return self.body(x).flatten(1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, C, H, W)`` to raw scores ``(B,)``, no sigmoid."""
        return self.score(self.body(x)).flatten()
