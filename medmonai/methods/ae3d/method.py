"""A 3-D convolutional autoencoder trained to remove coarse noise from healthy patches."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from torch import nn

from medmonai.methods.base import AnomalyMethod
from medmonai.networks import ConvAE
from medmonai.transforms import CoarseNoise

__all__ = ["DenoisingAE3D", "residual_kind"]


def residual_kind(map_kind: str) -> str:
    """The residual a plain autoencoder draws for ``map_kind``: ``"elbo"`` needs a VAE, so it falls back."""
    return "absolute" if map_kind == "elbo" else map_kind


class DenoisingAE3D(AnomalyMethod):
    """Coarse noise in, the clean patch out; a lesion is what it cannot restore (an 8x bottleneck, no skips).

    Args:
        channels: encoder channels; the decoder mirrors them. Defaults to ``(16, 32, 64)``.
        strides: one per level: 32^3 patches become 64 x 4^3. Defaults to ``(2, 2, 2)``.
        skip_connections: a UNet-style denoiser (skips can pass lesions through). Defaults to False.
        residual: residual units. Defaults to False.
        noise_std: std of the coarse noise (0 = a plain autoencoder). Defaults to 0.3.
        noise_scale: its coarseness (patch size / noise-grid size). Defaults to 8.
        map_kind: ``"absolute"`` |x - recon| or ``"positive"`` max(x - recon, 0). Defaults to ``"absolute"``.
    """

    def __init__(
        self,
        channels: Sequence[int] = (16, 32, 64),
        strides: Sequence[int] = (2, 2, 2),
        skip_connections: bool = False,
        residual: bool = False,
        noise_std: float = 0.3,
        noise_scale: int = 8,
        map_kind: str = "absolute",
    ) -> None:
        self.architecture = {"channels": channels, "strides": strides}
        self.architecture |= {"skip_connections": skip_connections, "residual": residual}
        self.noise = {"std": noise_std, "scale": noise_scale}
        self.map_kind = residual_kind(map_kind)

    def network(self) -> nn.Module:
        """:class:`medmonai.networks.ConvAE` in 3-D."""
        return ConvAE(spatial_dims=3, **self.architecture)

    def corruption(self) -> Callable:
        """:class:`medmonai.transforms.CoarseNoise`."""
        return CoarseNoise(**self.noise)
