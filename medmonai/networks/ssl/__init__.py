"""Self-supervised models for population studies: context prediction, SimCLR and a whole-image VAE.

Every model follows one protocol: ``training_loss(images)`` returns a dict with a scalar ``"loss"`` (and
scalars worth logging), drawing its own patches, views or noise from torch's global RNG; ``embed(images)``
returns one ``(B, embedding_dim)`` vector per image; ``encoder`` is the shared :class:`SSLEncoder` backbone.
"""

from medmonai.networks.ssl.augment import BatchAugment, contrastive_transforms
from medmonai.networks.ssl.context import ContextPrediction, extract_patches, grid_starts, neighbour_offsets
from medmonai.networks.ssl.contrastive import SimCLR, positive_pair_accuracy
from medmonai.networks.ssl.encoder import SSLEncoder
from medmonai.networks.ssl.vae import WholeImageVAE

__all__ = [
    "BatchAugment",
    "ContextPrediction",
    "SSLEncoder",
    "SimCLR",
    "WholeImageVAE",
    "contrastive_transforms",
    "extract_patches",
    "grid_starts",
    "neighbour_offsets",
    "positive_pair_accuracy",
]
