"""Array patch transforms."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from monai.config import NdarrayOrTensor
from monai.data import MetaTensor
from monai.transforms import GridPatch, Transform
from monai.utils import TransformBackends, ensure_tuple

from medmonai.errors import ConfigError

__all__ = ["LesionGridPatch"]


def _plain(x: NdarrayOrTensor) -> torch.Tensor:
    """A plain tensor: indexing a MetaTensor patch by patch copies its metadata every time, which is slow."""
    if isinstance(x, MetaTensor):
        return x.as_tensor()
    return torch.as_tensor(np.asarray(x) if isinstance(x, np.ndarray) else x)


class LesionGridPatch(Transform):
    """Non-overlapping grid patches of a volume, with each patch's lesion and foreground fraction.

    Patches come from MONAI's ``GridPatch`` on the image, lesion mask and foreground stacked as channels, so the
    three are cut identically; trailing voxels that do not fill a whole patch are left out. A patch size of
    ``(28, 28, 1)`` gives in-plane 2-D patches from every axial slice, ``(28, 28, 28)`` gives 3-D patches.

    Args:
        patch_size: spatial size of a patch, one entry per spatial dim of the input, each >= 1.

    Raises:
        ConfigError: a patch size entry is < 1.
    """

    backend = [TransformBackends.TORCH]

    def __init__(self, patch_size: Sequence[int]) -> None:
        self.patch_size = tuple(int(p) for p in ensure_tuple(patch_size))
        if any(p < 1 for p in self.patch_size):
            raise ConfigError(f"patch_size entries must be >= 1, got {self.patch_size}")
        self.grid = GridPatch(patch_size=self.patch_size)

    def __call__(
        self, img: NdarrayOrTensor, label: NdarrayOrTensor | None = None, foreground: NdarrayOrTensor | None = None
    ) -> dict[str, torch.Tensor]:
        """Cut ``img`` (and ``label``, ``foreground``) into patches.

        Args:
            img: ``(C, H, W, D)`` volume.
            label: ``(1, H, W, D)`` lesion mask (nonzero = lesion); none means no lesion. Defaults to None.
            foreground: ``(1, H, W, D)`` foreground (nonzero = inside); none means everywhere. Defaults to None.

        Returns:
            ``patches`` ``(N, C, *patch_size)`` float32, ``location`` ``(N, 3)`` int64 corner voxel of each patch,
            ``lesion_fraction`` and ``foreground_fraction`` ``(N,)`` float32 in [0, 1].

        Raises:
            ValueError: shapes of ``img``, ``label`` and ``foreground`` disagree, or the dims do not match
                ``patch_size``.
        """
        image = _plain(img).float()
        if image.ndim != len(self.patch_size) + 1:
            raise ValueError(f"img must have shape (C, {len(self.patch_size)} spatial dims), got {tuple(image.shape)}")
        spatial = image.shape[1:]
        masks = []
        for name, mask in (("label", label), ("foreground", foreground)):
            if mask is None:
                masks.append(torch.full((1, *spatial), 1.0 if name == "foreground" else 0.0))
                continue
            mask = _plain(mask)
            if tuple(mask.shape[1:]) != tuple(spatial):
                raise ValueError(f"{name} must have spatial shape {tuple(spatial)}, got {tuple(mask.shape[1:])}")
            masks.append((mask[:1] != 0).float())
        cut = self.grid(torch.cat([image, *masks]))
        n_channels = image.shape[0]
        location = np.asarray(cut.meta["location"])
        location = location.T if location.shape[0] == len(self.patch_size) else location
        patches = _plain(cut)
        return {
            "patches": patches[:, :n_channels].contiguous(),
            "location": torch.as_tensor(location, dtype=torch.int64).reshape(len(patches), -1),
            "lesion_fraction": patches[:, n_channels].flatten(1).mean(1),
            "foreground_fraction": patches[:, n_channels + 1].flatten(1).mean(1),
        }
