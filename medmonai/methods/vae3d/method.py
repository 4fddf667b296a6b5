"""A 3-D VAE trained on clean healthy patches; its map is a residual or the per-voxel ELBO."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from torch import nn

from medmonai.losses import ELBOLoss
from medmonai.methods.base import AnomalyMethod
from medmonai.networks import VAE

__all__ = ["VAE3D"]


class VAE3D(AnomalyMethod):
    """No corruption: the VAE learns to reconstruct healthy patches through a dense latent.

    Args:
        roi_size: the patch size, which fixes the dense layer's input. Defaults to ``(32, 32, 32)``.
        latent_size: dimension of z. Defaults to 128.
        beta: KL weight. Defaults to 1.0.
        channels: encoder channels. Defaults to ``(16, 32, 64)``.
        strides: one per level (32 -> 4 before the dense layer). Defaults to ``(2, 2, 2)``.
        map_kind: ``"absolute"``, ``"positive"`` or ``"elbo"``. Defaults to ``"absolute"``.
    """

    def __init__(
        self,
        roi_size: Sequence[int] = (32, 32, 32),
        latent_size: int = 128,
        beta: float = 1.0,
        channels: Sequence[int] = (16, 32, 64),
        strides: Sequence[int] = (2, 2, 2),
        map_kind: str = "absolute",
    ) -> None:
        self.architecture = {"in_shape": [1, *roi_size], "latent_size": latent_size}
        self.architecture |= {"channels": channels, "strides": strides}
        self.beta = beta
        self.map_kind = map_kind

    def network(self) -> nn.Module:
        """:class:`medmonai.networks.VAE` in 3-D."""
        return VAE(spatial_dims=3, **self.architecture)

    def loss(self) -> Callable:
        """:class:`medmonai.losses.ELBOLoss` with a squared-error reconstruction term."""
        return ELBOLoss(reconstruction="mse", beta=self.beta)
