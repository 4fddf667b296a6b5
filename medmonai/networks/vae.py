"""Variational autoencoder: MONAI's ``VarAutoEncoder`` behind a dict-returning interface."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from monai.networks.nets import VarAutoEncoder

from medmonai.errors import ConfigError
from medmonai.networks.variational import VariationalAutoencoder

__all__ = ["VAE"]


def _check_shape(spatial_dims: int, in_shape: Sequence[int], latent_size: int, strides: Sequence[int]) -> None:
    if isinstance(latent_size, bool) or not isinstance(latent_size, int) or latent_size < 1:
        raise ConfigError(f"latent_size must be a positive integer, got {latent_size!r}")
    if len(in_shape) != spatial_dims + 1:
        raise ConfigError(f"in_shape must be (C, {spatial_dims} spatial dims), got {tuple(in_shape)}")
    factor = 1
    for s in strides:
        factor *= int(s)
    bad = [d for d in in_shape[1:] if d % factor]
    if bad:
        raise ConfigError(f"spatial size {tuple(in_shape[1:])} must be divisible by the product of strides {factor}")


class VAE(VariationalAutoencoder):
    """A VAE returning ``{"recon", "mu", "logvar", "z"}`` and decoding the posterior mean in eval mode.

    Wraps :class:`monai.networks.nets.VarAutoEncoder` (with ``use_mean_at_inference=True``, see MONAI #8413).
    ``forward`` samples ``z = mu + eps * std`` when ``sample`` is true, which defaults to ``self.training``;
    evaluators estimating the ELBO pass ``sample=True`` in eval mode.

    Args:
        spatial_dims: 2 or 3.
        in_shape: ``(C, H, W[, D])`` input shape; each spatial size must be divisible by ``prod(strides)``.
        latent_size: dimension of z, >= 1.
        channels: encoder channels per stage. Defaults to ``(32, 64)``.
        strides: stride per stage. Defaults to ``(2, 2)``.
        **kwargs: passed on to ``VarAutoEncoder`` (``num_res_units``, ``norm``, ``act``, ...).

    Raises:
        ConfigError: ``latent_size`` is not a positive integer, or the shapes do not fit together.
    """

    def __init__(
        self,
        spatial_dims: int,
        in_shape: Sequence[int],
        latent_size: int,
        channels: Sequence[int] = (32, 64),
        strides: Sequence[int] = (2, 2),
        **kwargs: Any,
    ) -> None:
        super().__init__()
        _check_shape(spatial_dims, in_shape, latent_size, strides)
        self.latent_size = latent_size
        self.in_shape = tuple(in_shape)
        kwargs.setdefault("out_channels", in_shape[0])
        self.net = VarAutoEncoder(
            spatial_dims=spatial_dims,
            in_shape=in_shape,
            latent_size=latent_size,
            channels=channels,
            strides=strides,
            use_sigmoid=True,
            use_mean_at_inference=True,
            **kwargs,
        )

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Map ``(B, *in_shape)`` images to posterior ``(mu, logvar)``, each ``(B, latent_size)``."""
        return self.net.encode_forward(x)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Map ``(B, latent_size)`` codes to ``(B, *in_shape)`` images in [0, 1]."""
        return self.net.decode_forward(z, use_sigmoid=True)
