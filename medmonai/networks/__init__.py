"""Networks: torch modules that take tensors and return a tensor or a dict."""

from medmonai.networks.autoencoder import ConvAE, SliceWise
from medmonai.networks.dcgan_vae import DCGANVAE
from medmonai.networks.gan.dcgan import DCGANDiscriminator, DCGANGenerator
from medmonai.networks.gan.encoder import GANEncoder
from medmonai.networks.gan.fanogan import IziFNetwork
from medmonai.networks.gan.layers import EqualizedConv2d, EqualizedLinear, MinibatchStdDev, PixelNorm
from medmonai.networks.gan.progressive import ProgressiveDiscriminator, ProgressiveGenerator
from medmonai.networks.one_class_ae import BottleneckConvAE, ReferenceConvAE
from medmonai.networks.ssl.augment import BatchAugment, contrastive_transforms
from medmonai.networks.ssl.context import ContextPrediction
from medmonai.networks.ssl.contrastive import SimCLR
from medmonai.networks.ssl.encoder import SSLEncoder
from medmonai.networks.ssl.vae import WholeImageVAE
from medmonai.networks.tensor_output import TensorOutput
from medmonai.networks.vae import VAE
from medmonai.networks.variational import VariationalAutoencoder

__all__ = [
    "VAE",
    "DCGANVAE",
    "DCGANGenerator",
    "DCGANDiscriminator",
    "ProgressiveGenerator",
    "ProgressiveDiscriminator",
    "GANEncoder",
    "IziFNetwork",
    "EqualizedConv2d",
    "EqualizedLinear",
    "PixelNorm",
    "MinibatchStdDev",
    "BottleneckConvAE",
    "ConvAE",
    "ReferenceConvAE",
    "SliceWise",
    "TensorOutput",
    "VariationalAutoencoder",
    "SSLEncoder",
    "ContextPrediction",
    "SimCLR",
    "WholeImageVAE",
    "BatchAugment",
    "contrastive_transforms",
]
