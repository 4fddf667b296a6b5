"""A 2-D denoising autoencoder applied to every axial slice of a 3-D patch."""

from __future__ import annotations

from torch import nn

from medmonai.methods.ae3d.method import DenoisingAE3D
from medmonai.networks import ConvAE, SliceWise

__all__ = ["DenoisingAE2D"]


class DenoisingAE2D(DenoisingAE3D):
    """As :class:`medmonai.methods.ae3d.DenoisingAE3D`, slice by slice: 32^2 slices become 64 x 4^2."""

    def network(self) -> nn.Module:
        """:class:`medmonai.networks.SliceWise` over a 2-D :class:`medmonai.networks.ConvAE`."""
        return SliceWise(ConvAE(spatial_dims=2, **self.architecture))
