"""GANs for anomaly detection: DCGAN, progressive growing (PGGAN) and the f-AnoGAN encoder.

Generators map ``z`` of shape ``(B, latent_size)`` to images ``(B, C, H, W)`` in [-1, 1] and report their size
with ``output_shape(stage=None)``. Discriminators map images to raw scores ``(B,)`` (no sigmoid) and expose their
penultimate activations as ``features(x)``, of shape ``(B, F)``; they hold no batch norm. Progressive models add
``n_stages`` and ``set_progress(stage, alpha)``, kept in the ``stage`` and ``alpha`` buffers of their state dict.
"""

from medmonai.networks.gan.dcgan import DCGANDiscriminator, DCGANGenerator
from medmonai.networks.gan.encoder import GANEncoder
from medmonai.networks.gan.fanogan import IziFNetwork, grouped_discriminator
from medmonai.networks.gan.layers import EqualizedConv2d, EqualizedLinear, MinibatchStdDev, PixelNorm
from medmonai.networks.gan.progressive import ProgressiveDiscriminator, ProgressiveGenerator

__all__ = [
    "DCGANGenerator",
    "DCGANDiscriminator",
    "ProgressiveGenerator",
    "ProgressiveDiscriminator",
    "GANEncoder",
    "IziFNetwork",
    "grouped_discriminator",
    "EqualizedConv2d",
    "EqualizedLinear",
    "PixelNorm",
    "MinibatchStdDev",
]
