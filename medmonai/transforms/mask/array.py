"""Randomly move the edge of a brain mask in a masked patch, filling gained voxels with non-brain tissue."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from monai.config import NdarrayOrTensor
from monai.transforms import RandomizableTransform
from monai.utils import TransformBackends, convert_to_tensor

from medmonai.errors import ConfigError

__all__ = ["RandMaskEdge"]


def _dilate(mask: torch.Tensor, voxels: int) -> torch.Tensor:
    """Dilate a ``(1, X, Y, Z)`` float mask by ``voxels`` (a cube of side ``2 * voxels + 1``)."""
    return F.max_pool3d(mask[None], 2 * voxels + 1, stride=1, padding=voxels)[0]


class RandMaskEdge(RandomizableTransform):
    """Move the edge of the brain mask of a masked patch: as if the mask came from an imperfect brain extraction.

    Masks from template registration miss or add a voxel or two at the brain's edge, so real masked volumes carry
    slivers of cerebrospinal fluid, dura or skull that masked training volumes never show. With probability
    ``prob`` the mask grows by 1 to ``max_grow`` voxels, the gained voxels holding non-brain tissue (a random
    level in ``rim_range`` of normalised units, with voxel noise), or shrinks by one voxel. The patch must be
    masked already (zero outside the brain); voxels outside the moved mask become zero.

    Args:
        prob: chance of moving the edge. Defaults to 0.5.
        max_grow: most voxels the mask grows by. Defaults to 2.
        rim_range: intensity range of the gained tissue, normalised units. Defaults to (0.0, 1.6).

    Raises:
        ConfigError: ``prob`` outside [0, 1], ``max_grow`` < 1 or an empty ``rim_range``.
    """

    backend = [TransformBackends.TORCH]

    def __init__(self, prob: float = 0.5, max_grow: int = 2, rim_range: tuple[float, float] = (0.0, 1.6)) -> None:
        if not 0 <= prob <= 1 or max_grow < 1 or rim_range[0] > rim_range[1]:
            raise ConfigError(
                f"RandMaskEdge needs prob in [0, 1], max_grow >= 1 and rim_range (low, high), "
                f"got {prob}, {max_grow}, {rim_range}"
            )
        super().__init__(prob)
        self.max_grow = int(max_grow)
        self.rim_range = (float(rim_range[0]), float(rim_range[1]))
        self._grow, self._level, self._seed = 0, 0.0, 0

    def randomize(self, data: object = None) -> None:
        """Draw whether and how the edge moves."""
        super().randomize(None)
        self._grow = int(self.R.randint(-1, self.max_grow + 1)) or 1  # -1 shrinks, 1..max_grow grows
        self._level = float(self.R.uniform(*self.rim_range))
        self._seed = int(self.R.randint(2**31))

    def __call__(self, img: NdarrayOrTensor, mask: NdarrayOrTensor, randomize: bool = True) -> torch.Tensor:
        """Return the ``(C, X, Y, Z)`` patch with its mask edge moved; ``mask`` is ``(1, X, Y, Z)``."""
        if randomize:
            self.randomize()
        image = convert_to_tensor(img, track_meta=False, dtype=torch.float32)
        inside = convert_to_tensor(mask, track_meta=False, dtype=torch.float32) > 0
        if not self._do_transform or not bool(inside.any()):
            return image
        if self._grow < 0:
            return image * (1.0 - _dilate((~inside).float(), 1))
        rim = (_dilate(inside.float(), self._grow) > 0) & ~inside
        generator = torch.Generator().manual_seed(self._seed)
        noise = 1.0 + 0.2 * torch.randn(image.shape, generator=generator)
        return torch.where(rim, self._level * noise, image)
