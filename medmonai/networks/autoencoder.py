"""Convolutional autoencoders returning ``{"recon"}``, and a wrapper applying a 2-D network slice by slice."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from monai.networks.nets import AutoEncoder, UNet
from torch import nn

from medmonai.errors import ConfigError
from medmonai.keys import Keys

__all__ = ["ConvAE", "SliceWise"]


class ConvAE(nn.Module):
    """A fully convolutional autoencoder for any input size divisible by ``prod(strides)``.

    With ``skip_connections`` it is MONAI's ``UNet``: the denoising autoencoder of Kascenas et al. (MIDL 2022),
    trained to remove coarse noise from healthy images, so at test time it "heals" lesions that look like such
    noise and the residual shows them. Without, it is MONAI's ``AutoEncoder``, a plain bottlenecked AE.
    With ``residual`` the network predicts a correction added to its input, which starts training at the
    identity and converges far faster on CPU budgets.

    Args:
        spatial_dims: 2 or 3.
        channels: channels per level. Defaults to ``(16, 32, 64)``.
        strides: strides between levels, one fewer than ``channels`` with skip connections, as many
            without. Defaults to ``(2, 2)``.
        skip_connections: UNet (True) or plain AutoEncoder (False). Defaults to True.
        residual: output ``x + net(x)`` instead of ``net(x)``. Defaults to True.
        norm: normalisation layer. Batch norm keeps absolute intensity, which instance norm would remove from
            every patch. Defaults to ``"batch"``.
        in_channels: input (and output) channels. Defaults to 1.

    Raises:
        ConfigError: ``spatial_dims`` is not 2 or 3, or ``strides`` does not fit ``channels``.
    """

    def __init__(
        self,
        spatial_dims: int,
        channels: Sequence[int] = (16, 32, 64),
        strides: Sequence[int] = (2, 2),
        skip_connections: bool = True,
        residual: bool = True,
        norm: str = "batch",
        in_channels: int = 1,
    ) -> None:
        super().__init__()
        if spatial_dims not in (2, 3):
            raise ConfigError(f"spatial_dims must be 2 or 3, got {spatial_dims!r}")
        expected = len(channels) - 1 if skip_connections else len(channels)
        if len(strides) != expected:
            raise ConfigError(f"strides must have {expected} entries for channels {tuple(channels)}, got {strides}")
        self.residual = residual
        self.spatial_dims = spatial_dims
        kind = UNet if skip_connections else AutoEncoder
        self.net = kind(spatial_dims, in_channels, in_channels, channels, strides, num_res_units=0, norm=norm)

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """Map ``(B, C, *spatial)`` images to ``{"recon": (B, C, *spatial)}``."""
        out = self.net(x)
        return {Keys.RECON: x + out if self.residual else out}


class SliceWise(nn.Module):
    """Apply a 2-D network to every slice of a 3-D input along its last axis (axial for ``(X, Y, Z)`` volumes).

    ``(B, C, X, Y, Z)`` becomes ``(B * Z, C, X, Y)``; the 2-D network's tensor outputs (or the tensors of its
    dict output, which must all be spatial) are stacked back to ``(B, C', X, Y, Z)``. This lets a slice-wise 2-D
    model train on 3-D patches and run in the same 3-D sliding window as the volume models.

    Args:
        network: a 2-D network returning a tensor or a dict of ``(N, C', X, Y)`` tensors.
    """

    def __init__(self, network: nn.Module) -> None:
        super().__init__()
        self.network = network

    def forward(self, x: torch.Tensor) -> torch.Tensor | dict[str, torch.Tensor]:
        """Run slice by slice; see the class docstring for shapes."""
        if x.dim() != 5:
            raise ValueError(f"SliceWise input must be (B, C, X, Y, Z), got shape {tuple(x.shape)}")
        b, c, h, w, d = x.shape
        slices = x.permute(0, 4, 1, 2, 3).reshape(b * d, c, h, w)
        out = self.network(slices)

        def restack(t: torch.Tensor) -> torch.Tensor:
            return t.reshape(b, d, t.shape[1], h, w).permute(0, 2, 3, 4, 1)

        return {k: restack(v) for k, v in out.items()} if isinstance(out, dict) else restack(out)
