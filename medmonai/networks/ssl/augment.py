"""Random views of a batch for contrastive learning: MONAI transforms per sample, seeded from torch's RNG.

The default views are mildly spatial and strongly photometric. A contrastive model becomes invariant to whatever
differs between the views, so the spatial part leaves sizes alone (no scaling, a few degrees of rotation, a few
voxels of shift): head and ventricle size must survive into the embedding. The intensity part is strong (gamma,
a nonlinear histogram shift, a bias field, blur and noise) so that a scanner's or site's contrast carries no
information the model can use to match two views.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

import torch
from monai.transforms import (
    Compose,
    RandAdjustContrast,
    RandAffine,
    RandBiasField,
    RandGaussianNoise,
    RandGaussianSmooth,
    RandHistogramShift,
)
from monai.utils import convert_to_tensor

from medmonai.networks.ssl.encoder import check_spatial_dims

__all__ = ["BatchAugment", "contrastive_transforms"]

logger = logging.getLogger(__name__)

_SEED_BOUND = 2**31 - 1


def contrastive_transforms(
    spatial_dims: int,
    rotate: float = 0.1,
    translate: float = 3.0,
    scale: float = 0.0,
    gamma: tuple[float, float] = (0.5, 2.0),
    histogram_points: tuple[int, int] = (5, 10),
    bias_coeff: tuple[float, float] = (0.0, 0.4),
    smooth_sigma: tuple[float, float] = (0.25, 1.0),
    noise_std: float = 0.1,
    prob: float = 0.8,
) -> Compose:
    """MONAI's random transforms making one view of a channel-first image ``(C, *spatial)``.

    Args:
        spatial_dims: 2 or 3.
        rotate: largest rotation about each axis, radians. Defaults to 0.1 (about 6 degrees).
        translate: largest shift along each axis, voxels. Defaults to 3.0.
        scale: largest relative zoom; keep 0 where size is a signal to preserve. Defaults to 0.0.
        gamma: range of the contrast gamma (mean and std kept). Defaults to ``(0.5, 2.0)``.
        histogram_points: range of the number of control points of the histogram shift. Defaults to ``(5, 10)``.
        bias_coeff: range of the bias field's polynomial coefficients. Defaults to ``(0.0, 0.4)``.
        smooth_sigma: range of the Gaussian blur sigma, voxels. Defaults to ``(0.25, 1.0)``.
        noise_std: largest Gaussian noise std, in image units (z-scored images: fractions of the std).
            Defaults to 0.1.
        prob: probability of each transform. Defaults to 0.8.

    Raises:
        ConfigError: ``spatial_dims`` is not 2 or 3.
    """
    check_spatial_dims(spatial_dims)
    rotations = (rotate,) if spatial_dims == 2 else (rotate, rotate, rotate)
    sigma = {"sigma_x": smooth_sigma, "sigma_y": smooth_sigma}
    if spatial_dims == 3:
        sigma["sigma_z"] = smooth_sigma
    return Compose(
        [
            RandAffine(
                prob=prob,
                rotate_range=rotations,
                translate_range=(translate,) * spatial_dims,
                scale_range=(scale,) * spatial_dims,
                padding_mode="border",  # repeat the background rather than pad with a value it may not have
            ),
            RandAdjustContrast(prob=prob, gamma=gamma, retain_stats=True),
            RandHistogramShift(num_control_points=histogram_points, prob=prob / 2),
            RandBiasField(coeff_range=bias_coeff, prob=prob),
            RandGaussianSmooth(prob=prob / 2, **sigma),
            RandGaussianNoise(prob=prob / 2, std=noise_std, sample_std=True),
        ]
    )


class BatchAugment:
    """Apply a MONAI transform to every image of a ``(B, C, *spatial)`` batch, seeded from torch's global RNG.

    MONAI's random transforms draw from their own numpy state; reseeding it from torch's RNG on every call makes
    a run seeded with ``torch.manual_seed`` reproducible, and a run resumed with torch's RNG state restored draws
    the same views it would have drawn without the interruption.

    Args:
        transform: a (random) transform on one channel-first image; defaults to
            :func:`contrastive_transforms` for ``spatial_dims``.
        spatial_dims: used only to build the default transform. Defaults to 3.
    """

    def __init__(self, transform: Callable | None = None, spatial_dims: int = 3) -> None:
        self.transform = transform if transform is not None else contrastive_transforms(spatial_dims)

    def _reseed(self) -> None:
        seed = int(torch.randint(_SEED_BOUND, (1,)))
        if hasattr(self.transform, "set_random_state"):
            self.transform.set_random_state(seed=seed)

    @torch.no_grad()
    def __call__(self, images: torch.Tensor) -> torch.Tensor:
        """Return one random view of each image, as a plain tensor of the input's shape, dtype and device."""
        self._reseed()
        views: Sequence[torch.Tensor] = [
            convert_to_tensor(self.transform(image), track_meta=False).to(images.device, images.dtype)
            for image in images
        ]
        return torch.stack(list(views))
