"""Context prediction (Doersch et al., ICCV 2015): which of its neighbours is a second patch of an anchor patch?

The two patches go through one shared encoder; a small classifier on their concatenated embeddings predicts the
neighbour's position, one of 8 in 2-D or 26 in 3-D. A gap between the patches and a random jitter of the
neighbour stop the network from solving the task by matching the lines and textures that continue across a
shared edge, so it has to learn what anatomy lies where. Patches are taken in one indexing operation on an
unfolded view of the batch, never in a Python loop over images or voxels.
"""

from __future__ import annotations

import itertools
import logging
import math
from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from medmonai.errors import ConfigError
from medmonai.keys import Keys
from medmonai.networks.ssl.encoder import SSLEncoder, check_spatial_dims

__all__ = ["ContextPrediction", "extract_patches", "grid_starts", "neighbour_offsets"]

logger = logging.getLogger(__name__)

EMBED_MODES = ("grid", "image")
_QUANTILE_SAMPLE = 65536  # voxels per image used to estimate its intensity range (torch.quantile has a size limit)


def neighbour_offsets(spatial_dims: int) -> torch.Tensor:
    """The ``(3 ** spatial_dims - 1, spatial_dims)`` positions of the neighbours, entries in {-1, 0, 1}.

    Row ``k`` is the position of class ``k``, in ``itertools.product`` order with the centre left out.
    """
    grid = [offset for offset in itertools.product((-1, 0, 1), repeat=spatial_dims) if any(offset)]
    return torch.tensor(grid, dtype=torch.long)


def extract_patches(
    images: torch.Tensor, batch_index: torch.Tensor, starts: torch.Tensor, patch_size: Sequence[int]
) -> torch.Tensor:
    """Patches of a batch, gathered at once from an unfolded (copy-free) view.

    Args:
        images: ``(B, C, *spatial)``.
        batch_index: ``(N,)`` image of each patch.
        starts: ``(N, spatial_dims)`` first voxel of each patch; each patch must lie inside its image.
        patch_size: patch side per spatial axis.

    Returns:
        ``(N, C, *patch_size)``.
    """
    windows = images
    for axis, size in enumerate(patch_size):
        windows = windows.unfold(2 + axis, int(size), 1)  # (B, C, *positions, *patch)
    device = images.device
    return windows[(batch_index.to(device), slice(None), *starts.to(device).unbind(1))]


def grid_starts(spatial_shape: Sequence[int], patch_size: Sequence[int], stride: Sequence[int]) -> torch.Tensor:
    """Starts of a regular grid of patches covering the whole image, the last patch flush with the far edge.

    Returns:
        ``(*counts, spatial_dims)`` long tensor: ``counts[i]`` patches along axis ``i``, in that order.
    """
    axes = []
    for size, patch, step in zip(spatial_shape, patch_size, stride, strict=True):
        count = math.ceil((size - patch) / step) + 1
        axes.append(torch.linspace(0, size - patch, count).round().long())
    return torch.stack(torch.meshgrid(*axes, indexing="ij"), dim=-1)


def _as_tuple(value: int | Sequence[int], spatial_dims: int, name: str) -> tuple[int, ...]:
    values = (value,) * spatial_dims if isinstance(value, int) else tuple(int(v) for v in value)
    if len(values) != spatial_dims or min(values) < 0:
        raise ConfigError(f"{name} must be a non-negative int or {spatial_dims} of them, got {value!r}")
    return values


class ContextPrediction(nn.Module):
    """Predict the relative position of two patches (8 classes in 2-D, 26 in 3-D) with a shared encoder.

    For each image, ``pairs_per_image`` pairs are drawn: a position class uniformly, a jitter of up to ``jitter``
    voxels per axis for the neighbour, then an anchor uniformly among the starts that keep both patches inside
    the image. Of ``candidates`` such anchors, a random one with both patches at least ``min_foreground``
    foreground is kept (the best one if none is), so pairs fall in the head rather than in the air around it.
    Foreground is every voxel above ``foreground_threshold`` of the way from the image's 1st to its 99th intensity
    percentile. All draws use torch's global RNG.

    ``embed`` (``embed_mode="grid"``) runs the encoder on a regular grid of patches covering each image and
    averages their embeddings over ``embed_regions`` regions per axis (8 octants in 3-D by default), concatenated.
    The encoder sees exactly the inputs it was trained on, and the grid is fixed in image space, so a larger head
    turns background patches into head patches and larger ventricles change the central patches. Averaging over
    regions rather than the whole image keeps where a change is: on aligned brains, ventricle enlargement and
    cortical thinning are local, and a single global mean (or maximum) of patch embeddings dilutes them. Running
    the encoder on the whole image (``embed_mode="image"``) feeds it inputs it never saw in training and pools
    its features globally, losing the same information.

    Args:
        spatial_dims: 2 or 3.
        patch_size: patch side, one int or one per axis. Defaults to 12.
        gap: voxels between the anchor and the neighbour. Defaults to 3.
        jitter: largest random shift of the neighbour per axis, voxels. Defaults to 2.
        pairs_per_image: pairs drawn from each image per step. Defaults to 4.
        candidates: anchors tried per pair to find one in the foreground. Defaults to 8.
        foreground_threshold: foreground level, as a fraction of the 1st-99th percentile range. Defaults to 0.1.
        min_foreground: foreground fraction each patch of a pair should reach; 0 turns the check off.
            Defaults to 0.5.
        hidden_dim: width of the classifier's hidden layer. Defaults to 128.
        embed_mode: ``"grid"`` or ``"image"`` (see above). Defaults to ``"grid"``.
        grid_stride: stride of the embedding grid; defaults to half the patch size.
        embed_regions: regions per axis over which grid embeddings are averaged, one int or one per axis; 1 is
            the mean over the whole image. Defaults to 2.
        **encoder_kwargs: passed on to :class:`SSLEncoder` (``in_channels``, ``embedding_dim``, ``channels``,
            ``strides``, ``num_res_units``, ``norm``, ``act``).

    Raises:
        ConfigError: ``spatial_dims`` is not 2 or 3, a size is negative or not positive where it must be, or
            ``embed_mode`` is unknown.
    """

    def __init__(
        self,
        spatial_dims: int,
        patch_size: int | Sequence[int] = 12,
        gap: int = 3,
        jitter: int = 2,
        pairs_per_image: int = 4,
        candidates: int = 8,
        foreground_threshold: float = 0.1,
        min_foreground: float = 0.5,
        hidden_dim: int = 128,
        embed_mode: str = "grid",
        grid_stride: int | Sequence[int] | None = None,
        embed_regions: int | Sequence[int] = 2,
        **encoder_kwargs: Any,
    ) -> None:
        super().__init__()
        check_spatial_dims(spatial_dims)
        self.patch_size = _as_tuple(patch_size, spatial_dims, "patch_size")
        if min(self.patch_size) < 1 or min(pairs_per_image, candidates, hidden_dim) < 1:
            raise ConfigError(
                f"patch_size, pairs_per_image, candidates and hidden_dim must be >= 1, got {self.patch_size}, "
                f"{pairs_per_image}, {candidates}, {hidden_dim}"
            )
        if embed_mode not in EMBED_MODES:
            raise ConfigError(f"embed_mode must be one of {EMBED_MODES}, got {embed_mode!r}")
        self.gap, self.jitter = _as_tuple(gap, 1, "gap")[0], _as_tuple(jitter, 1, "jitter")[0]
        stride = grid_stride if grid_stride is not None else tuple(max(p // 2, 1) for p in self.patch_size)
        self.grid_stride = _as_tuple(stride, spatial_dims, "grid_stride")
        self.embed_regions = _as_tuple(embed_regions, spatial_dims, "embed_regions")
        if min(self.grid_stride + self.embed_regions) < 1:
            raise ConfigError(f"grid_stride and embed_regions must be >= 1, got {grid_stride!r}, {embed_regions!r}")
        self.spatial_dims = spatial_dims
        self.pairs_per_image = pairs_per_image
        self.candidates = candidates
        self.foreground_threshold = float(foreground_threshold)
        self.min_foreground = float(min_foreground)
        self.embed_mode = embed_mode
        self.encoder = SSLEncoder(spatial_dims, **encoder_kwargs)
        self.register_buffer("offsets", neighbour_offsets(spatial_dims), persistent=False)
        width = self.encoder.embedding_dim
        self.classifier = nn.Sequential(
            nn.Linear(2 * width, hidden_dim), nn.ReLU(inplace=True), nn.Linear(hidden_dim, len(self.offsets))
        )

    @property
    def embedding_dim(self) -> int:
        """Size of :meth:`embed`'s vectors: the encoder's times the number of regions in grid mode."""
        return self.encoder.embedding_dim * (math.prod(self.embed_regions) if self.embed_mode == "grid" else 1)

    @property
    def num_classes(self) -> int:
        """Number of neighbour positions: 8 in 2-D, 26 in 3-D."""
        return len(self.offsets)

    def _check_size(self, images: torch.Tensor, need: Sequence[int], purpose: str) -> None:
        if images.ndim != self.spatial_dims + 2:
            raise ValueError(
                f"images must have shape (B, C, {self.spatial_dims} spatial dims), got {tuple(images.shape)}"
            )
        if any(size < n for size, n in zip(images.shape[2:], need, strict=True)):
            raise ConfigError(
                f"images of spatial size {tuple(images.shape[2:])} are too small for {purpose}: "
                f"each side must be at least {tuple(need)}"
            )

    def _foreground(self, images: torch.Tensor) -> torch.Tensor:
        """``(B, 1, *spatial)`` float mask of the voxels above the foreground level of their image."""
        intensity = images.detach().mean(dim=1, keepdim=True)
        flat = intensity.flatten(1)
        flat = flat[:, :: max(1, math.ceil(flat.shape[1] / _QUANTILE_SAMPLE))].float()
        low, high = torch.quantile(flat, torch.tensor([0.01, 0.99], device=flat.device), dim=1)
        level = low + self.foreground_threshold * (high - low)
        return (intensity > level.view(-1, *([1] * (images.ndim - 1)))).to(images.dtype)

    def sample_pairs(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
        """Draw the anchor and neighbour of ``pairs_per_image`` pairs per image (see the class docstring).

        Args:
            images: ``(B, C, *spatial)``.

        Returns:
            ``batch_index`` ``(N,)``, ``anchor`` and ``neighbour`` starts ``(N, spatial_dims)``, and ``label``
            ``(N,)`` (the neighbour's class), all long tensors on the CPU; ``N = B * pairs_per_image``.

        Raises:
            ValueError: the images do not have ``spatial_dims`` spatial dimensions.
            ConfigError: the images are too small for two patches with the gap and jitter.
        """
        need = tuple(2 * p + self.gap + self.jitter for p in self.patch_size)
        self._check_size(images, need, f"patch_size {self.patch_size}, gap {self.gap} and jitter {self.jitter}")
        spatial_shape = images.shape[2:]
        count, tries = images.shape[0] * self.pairs_per_image, self.candidates
        batch_index = torch.arange(images.shape[0]).repeat_interleave(self.pairs_per_image)
        label = torch.randint(self.num_classes, (count,))
        patch = torch.tensor(self.patch_size)
        jitter = torch.randint(-self.jitter, self.jitter + 1, (count, tries, self.spatial_dims))
        shift = self.offsets.cpu()[label][:, None] * (patch + self.gap) + jitter
        low = (-shift).clamp(min=0)
        high = torch.tensor(spatial_shape) - patch - shift.clamp(min=0)
        anchor = low + (torch.rand(count, tries, self.spatial_dims) * (high - low + 1)).long().clamp(max=high - low)
        choice = self._choose(images, batch_index, anchor, anchor + shift)
        rows = torch.arange(count)
        anchor, shift = anchor[rows, choice], shift[rows, choice]
        return {"batch_index": batch_index, "anchor": anchor, "neighbour": anchor + shift, "label": label}

    def _choose(
        self, images: torch.Tensor, batch_index: torch.Tensor, anchor: torch.Tensor, neighbour: torch.Tensor
    ) -> torch.Tensor:
        """Index of the kept candidate per pair: a random one of those in the foreground, else the best one."""
        count, tries, _ = anchor.shape
        if self.min_foreground <= 0 or tries == 1:
            return torch.zeros(count, dtype=torch.long)
        mask = self._foreground(images)
        index = batch_index.repeat_interleave(tries)
        starts = torch.cat([anchor.reshape(-1, self.spatial_dims), neighbour.reshape(-1, self.spatial_dims)])
        fraction = extract_patches(mask, torch.cat([index, index]), starts, self.patch_size).flatten(1).mean(1)
        worst = torch.minimum(*fraction.cpu().float().view(2, count, tries))
        score = torch.where(worst >= self.min_foreground, 1.0 + torch.rand(count, tries), worst)
        return score.argmax(dim=1)

    def training_loss(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
        """Cross-entropy of the predicted neighbour position for pairs drawn from ``(B, C, *spatial)`` images.

        Returns:
            ``loss`` (scalar, differentiable) and ``accuracy`` (fraction of positions right, detached).
        """
        pairs = self.sample_pairs(images)
        starts = torch.cat([pairs["anchor"], pairs["neighbour"]])
        index = torch.cat([pairs["batch_index"], pairs["batch_index"]])
        embeddings = self.encoder(extract_patches(images, index, starts, self.patch_size))
        anchor, neighbour = embeddings.chunk(2)
        logits = self.classifier(torch.cat([anchor, neighbour], dim=1))
        label = pairs["label"].to(logits.device)
        accuracy = (logits.argmax(dim=1) == label).float().mean()
        return {Keys.LOSS: F.cross_entropy(logits, label), "accuracy": accuracy.detach()}

    def embed(self, images: torch.Tensor) -> torch.Tensor:
        """One vector per image, ``(B, embedding_dim)``; deterministic (no random draws).

        With ``embed_mode="grid"``: the embeddings of a regular grid of patches covering the image, averaged
        over each of ``embed_regions`` regions (overlapping by one patch where a count is odd), region by region.
        With ``"image"``: the encoder on the whole image.

        Raises:
            ValueError: the images do not have ``spatial_dims`` spatial dimensions.
            ConfigError: in grid mode, the images are smaller than a patch.
        """
        if self.embed_mode == "image":
            return self.encoder(images)
        self._check_size(images, self.patch_size, f"patch_size {self.patch_size}")
        grid = grid_starts(images.shape[2:], self.patch_size, self.grid_stride)
        count, starts = images.shape[0], grid.reshape(-1, self.spatial_dims)
        index = torch.arange(count).repeat_interleave(len(starts))
        patches = extract_patches(images, index, starts.repeat(count, 1), self.patch_size)
        embeddings = self.encoder(patches).view(count, *grid.shape[:-1], -1).movedim(-1, 1)  # (B, D, *counts)
        pool = F.adaptive_avg_pool2d if self.spatial_dims == 2 else F.adaptive_avg_pool3d
        return pool(embeddings, self.embed_regions).flatten(2).transpose(1, 2).flatten(1)
