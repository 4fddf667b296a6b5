"""Coarse (low-resolution, upsampled) Gaussian noise, the corruption of denoising autoencoders for brain MRI."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from monai.transforms import Transform

from medmonai.errors import ConfigError

__all__ = ["CoarseNoise"]


class CoarseNoise(Transform):
    """Add Gaussian noise drawn on a grid ``scale`` times coarser than the image and upsampled (trilinear/bilinear).

    Kascenas et al. (MIDL 2022) showed that a denoising AE trained to remove such coarse noise from healthy
    brains "heals" lesions at test time, since a lesion looks like a coarse intensity deviation. Noise comes from
    torch's global generator, which training checkpoints save, so resumed runs draw the same noise.

    Args:
        std: noise standard deviation in normalised intensity units; 0 disables the corruption. Defaults to 0.3.
        scale: coarseness, the ratio of image to noise-grid size. Defaults to 8.

    Raises:
        ConfigError: ``std`` < 0 or ``scale`` < 1.
    """

    def __init__(self, std: float = 0.3, scale: int = 8) -> None:
        if std < 0 or scale < 1:
            raise ConfigError(f"CoarseNoise needs std >= 0 and scale >= 1, got std={std}, scale={scale}")
        self.std = float(std)
        self.scale = int(scale)

    def __call__(self, img: torch.Tensor) -> torch.Tensor:
        """Corrupt a ``(B, C, *spatial)`` batch (2 or 3 spatial dims); returns a new tensor of the same shape."""
        if self.std == 0:
            return img
        spatial = img.shape[2:]
        if len(spatial) not in (2, 3):
            raise ValueError(f"CoarseNoise input must be (B, C, H, W[, D]), got shape {tuple(img.shape)}")
        coarse = [max(1, -(-s // self.scale)) for s in spatial]
        noise = torch.randn((img.shape[0], img.shape[1], *coarse), device=img.device, dtype=img.dtype) * self.std
        mode = "trilinear" if len(spatial) == 3 else "bilinear"
        return img + F.interpolate(noise, size=tuple(spatial), mode=mode, align_corners=False)
