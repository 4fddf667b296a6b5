"""SimCLR (Chen et al., ICML 2020): two random views of each image, pulled together against the rest of the batch.

Both views go through the encoder and a small projection MLP; MONAI's ``ContrastiveLoss`` (NT-Xent) scores each
view's partner against the other ``2B - 2`` views of the batch. The embedding is the encoder's output, before the
projection: the projection is trained to discard what the augmentations change and is dropped afterwards.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F
from monai.losses import ContrastiveLoss
from torch import nn

from medmonai.errors import ConfigError
from medmonai.keys import Keys
from medmonai.networks.ssl.augment import BatchAugment
from medmonai.networks.ssl.encoder import SSLEncoder, check_spatial_dims

__all__ = ["SimCLR", "positive_pair_accuracy"]

logger = logging.getLogger(__name__)


def positive_pair_accuracy(first: torch.Tensor, second: torch.Tensor) -> torch.Tensor:
    """Fraction of the ``2B`` views whose most cosine-similar other view is their own partner.

    Args:
        first: ``(B, F)`` projections of the first views.
        second: ``(B, F)`` projections of the second views, row ``i`` the partner of ``first[i]``.

    Returns:
        Scalar tensor in [0, 1]; chance is ``1 / (2B - 1)``.
    """
    views = F.normalize(torch.cat([first, second]), dim=1)
    similarity = views @ views.T
    similarity.fill_diagonal_(float("-inf"))
    count = first.shape[0]
    partner = torch.cat([torch.arange(count, 2 * count), torch.arange(count)]).to(similarity.device)
    return (similarity.argmax(dim=1) == partner).float().mean()


class SimCLR(nn.Module):
    """SimCLR: encoder, projection MLP and NT-Xent loss on two augmented views of every image.

    Args:
        spatial_dims: 2 or 3.
        projection_dim: output size of the projection MLP. Defaults to 64.
        temperature: NT-Xent temperature. Brains are alike, so at initialisation their embeddings are nearly
            parallel; at MONAI's 0.5 the loss then sits at chance (``ln(2B - 1)``) with vanishing gradients, while
            0.1 separates them. Defaults to 0.1.
        augment: callable mapping a ``(B, C, *spatial)`` batch to one random view of it; defaults to
            :class:`BatchAugment` with the default views of :func:`contrastive_transforms`.
        **encoder_kwargs: passed on to :class:`SSLEncoder` (``in_channels``, ``embedding_dim``, ``channels``,
            ``strides``, ``num_res_units``, ``norm``, ``act``).

    Raises:
        ConfigError: ``spatial_dims`` is not 2 or 3, ``projection_dim`` < 1 or ``temperature`` <= 0.
    """

    def __init__(
        self,
        spatial_dims: int,
        projection_dim: int = 64,
        temperature: float = 0.1,
        augment: Callable[[torch.Tensor], torch.Tensor] | None = None,
        **encoder_kwargs: Any,
    ) -> None:
        super().__init__()
        check_spatial_dims(spatial_dims)
        if projection_dim < 1 or temperature <= 0:
            raise ConfigError(f"projection_dim must be >= 1 and temperature > 0, got {projection_dim}, {temperature}")
        self.encoder = SSLEncoder(spatial_dims, **encoder_kwargs)
        self.embedding_dim = self.encoder.embedding_dim
        self.projection = nn.Sequential(
            nn.Linear(self.embedding_dim, self.embedding_dim),
            nn.ReLU(inplace=True),
            nn.Linear(self.embedding_dim, projection_dim),
        )
        self.augment = augment if augment is not None else BatchAugment(spatial_dims=spatial_dims)
        self.criterion = ContrastiveLoss(temperature=temperature)

    def training_loss(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
        """NT-Xent loss between two random views of each of the ``(B, C, *spatial)`` images (B >= 2).

        Returns:
            ``loss`` (scalar, differentiable) and ``accuracy`` (fraction of views whose nearest other view is
            their partner, detached).

        Raises:
            ValueError: fewer than two images: a batch of one has no negatives.
        """
        if images.shape[0] < 2:
            raise ValueError(f"SimCLR needs at least 2 images per batch for negatives, got {images.shape[0]}")
        views = torch.cat([self.augment(images), self.augment(images)])
        first, second = self.projection(self.encoder(views)).chunk(2)
        return {
            Keys.LOSS: self.criterion(first, second),
            "accuracy": positive_pair_accuracy(first.detach(), second.detach()),
        }

    def embed(self, images: torch.Tensor) -> torch.Tensor:
        """The encoder's ``(B, embedding_dim)`` output on the unaugmented images (before the projection)."""
        return self.encoder(images)
