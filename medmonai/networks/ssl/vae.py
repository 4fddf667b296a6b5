"""A whole-image VAE with a compact global latent: the unsupervised baseline of the self-supervised models.

The encoder is :class:`SSLEncoder` itself, its linear head giving the posterior mean, so the embedding (``mu``)
comes from the very architecture the other models train. A second linear head on the same pooled features gives
the log-variance. The decoder expands the latent to the encoder's last feature map and climbs back with
transposed convolutions whose output padding lands exactly on each encoder stage's size, so any input shape
works, not only multiples of the total stride.

MONAI's ``AutoencoderKL`` keeps a spatial latent (a feature map, thousands of values for a brain), not one vector
per subject, and ``VarAutoEncoder`` flattens a fixed-size map through its own encoder; neither shares the other
models' encoder, so neither is used here.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from typing import Any

import torch
from monai.networks.blocks import Convolution
from torch import nn

from medmonai.errors import ConfigError
from medmonai.keys import Keys
from medmonai.losses.elbo import gaussian_kl, reconstruction_nll
from medmonai.networks.ssl.encoder import DEFAULT_NORM, SSLEncoder, stage_shapes
from medmonai.networks.variational import VariationalAutoencoder

__all__ = ["WholeImageVAE"]

logger = logging.getLogger(__name__)


def _decoder_stages(
    spatial_dims: int,
    shapes: Sequence[tuple[int, ...]],
    channels: Sequence[int],
    strides: Sequence[int],
    out_channels: int,
    norm: str | tuple,
    act: str | tuple,
) -> nn.Sequential:
    """Transposed convolutions from the last encoder stage back to the image.

    ``shapes`` holds the input shape then each stage's output shape; stage ``i`` is undone by a transposed
    convolution from ``shapes[i + 1]`` to ``shapes[i]``, with output padding ``t - (n - 1) * s - 1``. The last one
    maps straight to ``out_channels`` without norm or activation: a full-resolution layer of ``channels[0]`` maps
    would cost more than the rest of the network together.
    """
    stages = []
    for i in reversed(range(len(strides))):
        stride = int(strides[i])
        padding = [t - (n - 1) * stride - 1 for t, n in zip(shapes[i], shapes[i + 1], strict=True)]
        last = i == 0
        stages.append(
            Convolution(
                spatial_dims,
                channels[i],
                out_channels if last else channels[i - 1],
                strides=stride,
                is_transposed=True,
                output_padding=padding,
                norm=norm,
                act=act,
                conv_only=last,
            )
        )
    return nn.Sequential(*stages)


class WholeImageVAE(VariationalAutoencoder):
    """A VAE on whole images of one fixed shape: :class:`SSLEncoder` to ``(mu, logvar)``, a transposed-conv decoder.

    The loss is the summed squared error plus ``beta`` times the KL divergence, per image, averaged over the
    batch (the negative ELBO of a Gaussian likelihood with variance 1/2 when ``beta`` is 1). Images are
    reconstructed without an output activation, so z-scored inputs are fine. In eval mode ``forward`` decodes
    the posterior mean, and ``embed`` is the mean.

    Args:
        spatial_dims: 2 or 3.
        in_shape: ``(C, *spatial)`` shape of the images.
        latent_size: size of the latent (and of the embedding). Defaults to 64.
        beta: weight of the KL term. Defaults to 1.0.
        channels: encoder channels per stage, mirrored by the decoder. Defaults to ``(16, 32, 64, 64)``.
        strides: stride per stage. Defaults to ``(2, 2, 2, 2)``.
        norm: MONAI norm spec, per sample. Defaults to group norm with 8 groups.
        act: MONAI activation spec. Defaults to ``"relu"`` (PReLU's backward pass is several times slower on CPU).
        pool_size: cells per axis of the encoder's average-pooling grid. A whole-image VAE must say where things
            are to reconstruct them, which global pooling (1) forgets. Defaults to 3.
        **encoder_kwargs: passed on to :class:`SSLEncoder` (e.g. ``num_res_units``).

    Raises:
        ConfigError: ``in_shape`` does not have ``spatial_dims + 1`` positive entries, ``latent_size`` < 1,
            ``beta`` < 0, or the encoder refuses its arguments.
    """

    def __init__(
        self,
        spatial_dims: int,
        in_shape: Sequence[int],
        latent_size: int = 64,
        beta: float = 1.0,
        channels: Sequence[int] = (16, 32, 64, 64),
        strides: Sequence[int] = (2, 2, 2, 2),
        norm: str | tuple = DEFAULT_NORM,
        act: str | tuple = "relu",
        pool_size: int | Sequence[int] = 3,
        **encoder_kwargs: Any,
    ) -> None:
        super().__init__()
        if len(in_shape) != spatial_dims + 1 or min(in_shape) < 1:
            raise ConfigError(f"in_shape must be (C, {spatial_dims} spatial sizes), all >= 1, got {tuple(in_shape)}")
        if latent_size < 1 or beta < 0:
            raise ConfigError(f"latent_size must be >= 1 and beta >= 0, got {latent_size}, {beta}")
        self.in_shape = tuple(int(n) for n in in_shape)
        self.latent_size = latent_size
        self.embedding_dim = latent_size
        self.beta = float(beta)
        self.encoder = SSLEncoder(
            spatial_dims,
            self.in_shape[0],
            latent_size,
            channels,
            strides,
            norm=norm,
            act=act,
            pool_size=pool_size,
            **encoder_kwargs,
        )
        self.logvar_head = nn.Linear(self.encoder.feature_dim, latent_size)
        shapes = [self.in_shape[1:], *stage_shapes(self.in_shape[1:], strides)]
        self._bottleneck = (channels[-1], *shapes[-1])
        self.expand = nn.Linear(latent_size, math.prod(self._bottleneck))
        self.decoder = _decoder_stages(spatial_dims, shapes, channels, strides, self.in_shape[0], norm, act)

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Map ``(B, *in_shape)`` images to the posterior ``(mu, logvar)``, each ``(B, latent_size)``."""
        if tuple(x.shape[1:]) != self.in_shape:
            raise ValueError(f"images must have shape (B, {', '.join(map(str, self.in_shape))}), got {tuple(x.shape)}")
        features = self.encoder.features(x)
        return self.encoder.head(features), self.logvar_head(features)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Map ``(B, latent_size)`` codes to ``(B, *in_shape)`` images (no output activation)."""
        return self.decoder(self.expand(z).view(-1, *self._bottleneck))

    def training_loss(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
        """Negative ELBO (``beta``-weighted) of ``(B, *in_shape)`` images, with ``z`` drawn from torch's RNG.

        Returns:
            ``loss`` (scalar, differentiable), and the batch means of ``recon`` (summed squared error per
            image) and ``kl`` (nats per image), detached.

        Raises:
            ValueError: the images do not have shape ``(B, *in_shape)``.
        """
        out = self.forward(images, sample=True)
        recon = reconstruction_nll(out[Keys.RECON], images, "mse")
        kl = gaussian_kl(out[Keys.MU], out[Keys.LOGVAR])
        return {
            Keys.LOSS: (recon + self.beta * kl).mean(),
            Keys.RECON: recon.detach().mean(),
            Keys.KL: kl.detach().mean(),
        }

    def embed(self, images: torch.Tensor) -> torch.Tensor:
        """The posterior mean, ``(B, latent_size)``."""
        return self.encode(images)[0]
