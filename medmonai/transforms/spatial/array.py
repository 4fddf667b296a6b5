"""Array spatial transforms."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from monai.config import NdarrayOrTensor
from monai.data import MetaTensor
from monai.transforms import SpatialResample, Transform
from monai.utils import TransformBackends

from medmonai.data.canvas import canvas_sizes, fit_to_canvas

__all__ = ["FitToCanvas", "isotropic_grid", "resample_to_grid"]


class FitToCanvas(Transform):
    """Resize an image into a box and centre the box on a larger zero canvas.

    This is MNIST's own layout: each digit was size-normalised into a 20x20 box and centred in a 28x28 image.
    Applied to scikit-learn's 8x8 digits it yields MNIST-like 28x28 inputs. The work is
    :func:`medmonai.data.canvas.fit_to_canvas`'s: MONAI's ``Resize`` (bilinear by default, which never overshoots
    the input range), then ``SpatialPad``.

    Args:
        box_size: spatial size the content is resized to. Defaults to ``(20, 20)``.
        canvas_size: spatial size of the output; each dim must be >= ``box_size``. Defaults to ``(28, 28)``.
        mode: interpolation mode passed to ``Resize``. Defaults to ``"bilinear"``.

    Raises:
        ConfigError: ``box_size`` and ``canvas_size`` differ in length or the box does not fit the canvas.
    """

    backend = [TransformBackends.TORCH]

    def __init__(
        self, box_size: Sequence[int] = (20, 20), canvas_size: Sequence[int] = (28, 28), mode: str = "bilinear"
    ) -> None:
        self.box_size, self.canvas_size = canvas_sizes(box_size, canvas_size)
        self.mode = mode

    def __call__(self, img: NdarrayOrTensor) -> NdarrayOrTensor:
        """Fit ``img`` into the canvas.

        Args:
            img: channel-first image ``(C, H, W[, D])``; all channels are resized alike, so a stack of N
                single-channel images may be passed as ``(N, H, W)`` and resized in one call.

        Returns:
            ``(C, *canvas_size)`` of the input's type; values stay within the input's range extended to 0.

        Raises:
            ValueError: ``img`` does not have ``1 + len(box_size)`` dims.
        """
        return fit_to_canvas(img, self.box_size, self.canvas_size, self.mode)


def resample_to_grid(
    array: np.ndarray, src_affine: np.ndarray, dst_affine: np.ndarray, shape: Sequence[int], mode: str = "bilinear"
) -> np.ndarray:
    """``(X, Y, Z)`` ``array`` on ``src_affine``'s grid, resampled onto the grid ``(dst_affine, shape)``.

    MONAI's ``SpatialResample`` does the work (zeros outside the source), so a map computed on the model's grid
    (RAS, model spacing) goes back onto a scan's own grid, in any orientation and voxel size; a grid that is
    already the destination is returned as it is.

    Args:
        array: ``(X, Y, Z)`` values on the source grid.
        src_affine: its 4x4 voxel-to-world (mm) matrix.
        dst_affine: the destination's 4x4 voxel-to-world matrix.
        shape: the destination's ``(X, Y, Z)`` size.
        mode: ``bilinear`` for maps and images, ``nearest`` for masks. Defaults to "bilinear".

    Returns:
        float32 ``(X, Y, Z)`` on the destination grid.
    """
    array = np.asarray(array, np.float32)
    src, dst = np.asarray(src_affine, np.float64), np.asarray(dst_affine, np.float64)
    if tuple(array.shape) == tuple(int(s) for s in shape) and np.allclose(src, dst, atol=1e-5):
        return array
    out = SpatialResample(mode=mode, padding_mode="zeros", dtype=torch.float32)(
        MetaTensor(torch.from_numpy(array[None]), affine=torch.as_tensor(src)),
        dst_affine=torch.as_tensor(dst),
        spatial_size=tuple(int(s) for s in shape),
    )
    return np.asarray(out.as_tensor().detach().cpu(), np.float32)[0]


def isotropic_grid(affine: np.ndarray, shape: Sequence[int], mm: float) -> tuple[np.ndarray, tuple[int, ...]]:
    """A grid of ``mm`` voxels over the same field of view and axes as ``(affine, shape)``: ``(affine, shape)``.

    The first voxel's outer corner stays where it was, so the new grid covers the same box.
    """
    affine = np.asarray(affine, np.float64)
    spacing = np.sqrt((affine[:3, :3] ** 2).sum(axis=0))
    size = tuple(max(1, int(round(n * s / mm))) for n, s in zip(shape, spacing, strict=True))
    out = affine.copy()
    out[:3, :3] = affine[:3, :3] / spacing * mm
    out[:3, 3] = affine[:3, 3] + affine[:3, :3] @ (-0.5 * np.ones(3)) - out[:3, :3] @ (-0.5 * np.ones(3))
    return out, size
