"""Random multi-scale deformations: one random affine plus smooth displacements at coarse, medium and fine scales.

A subject's anatomy is the template sampled at ``coordinates(x) = A (x - c) + c + t + sum_s d_s(x)``: a random
rotation/scaling ``A`` about the centre ``c``, a shift ``t``, and displacement fields ``d_s`` made of Gaussian
control values on grids of ``nodes`` per axis (4, 8 and 20 by default), spline-upsampled. The coarse scales change
head shape and ventricle size; the fine scale (20 nodes: one per ~10 mm) bends every gyrus on its own, which is
what makes each subject's folds individual. The fields are summed into one coordinate map, so each subject is
resampled once (torch ``grid_sample``). Magnitudes are in mm, so both template resolutions deform alike, and
``strength`` scales all of them.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from scipy import ndimage

__all__ = ["DEFAULT_SCALES", "deform", "random_coordinates", "resample", "smooth_field"]

DEFAULT_SCALES = ((4, 4.0), (8, 2.0), (20, 1.0))  # (control nodes per axis, displacement std in mm) at strength 1
_FIELD_MM = 4.0  # the fields are built on a 4 mm grid, then trilinearly upsampled
_SPREAD = 3.2  # control-value std per unit field std: upsampling and smoothing shrink the spread ~3.2-fold


def smooth_field(
    shape: tuple[int, ...], rng: np.random.Generator, nodes: int, scale: float, channels: int = 1
) -> np.ndarray:
    """A smooth random field: Gaussian values on a ``nodes``^3 control grid, upsampled and smoothed.

    The control values are trilinearly upsampled to a grid of 4 points per node spacing, smoothed there with a
    Gaussian of half a node spacing (no kinks left), then trilinearly upsampled to ``shape``; all cheap.

    Args:
        shape: the output grid ``(X, Y, Z)``.
        rng: the random generator.
        nodes: control values per axis (>= 2); more nodes give finer detail.
        scale: the field's standard deviation (approximately; the control values' is ``_SPREAD`` times more).
        channels: independent fields to draw. Defaults to 1.

    Returns:
        float32 ``(channels, X, Y, Z)``.

    Raises:
        ValueError: ``nodes`` < 2.
    """
    if nodes < 2:
        raise ValueError(f"a smooth field needs at least 2 nodes per axis, got {nodes}")
    coarse = torch.from_numpy(
        rng.normal(scale=scale * _SPREAD, size=(1, channels, nodes, nodes, nodes)).astype(np.float32)
    )
    middle = tuple(min(s, 4 * (nodes - 1) + 1) for s in shape)
    field = F.interpolate(coarse, size=middle, mode="trilinear", align_corners=True)[0].numpy()
    sigma = [0.0] + [0.5 * (m - 1) / (nodes - 1) for m in middle]
    field = ndimage.gaussian_filter(field, sigma, mode="nearest", truncate=2.5)
    if middle == tuple(shape):
        return field
    full = F.interpolate(torch.from_numpy(field)[None], size=tuple(shape), mode="trilinear", align_corners=True)
    return full[0].numpy()


def _affine(
    points: np.ndarray, shape: tuple[int, ...], rng: np.random.Generator, strength: float, voxel_mm: float
) -> np.ndarray:
    """``(3, ...)`` voxel ``points`` moved by a random rotation, anisotropic scaling and shift about the centre."""
    centre = ((np.array(shape) - 1) / 2.0)[:, None]
    rotation = np.eye(3)
    for axis, angle in enumerate(rng.uniform(-0.1, 0.1, 3) * strength):
        a, b = [i for i in range(3) if i != axis]
        turn = np.eye(3)
        turn[a, a] = turn[b, b] = np.cos(angle)
        turn[a, b], turn[b, a] = -np.sin(angle), np.sin(angle)
        rotation = rotation @ turn
    matrix = rotation * rng.uniform(1 - 0.07 * strength, 1 + 0.07 * strength, 3)
    shift = rng.uniform(-4.0, 4.0, 3)[:, None] * strength / voxel_mm
    moved = matrix @ (points.reshape(3, -1) - centre) + centre + shift
    return moved.reshape(points.shape).astype(np.float32)


def random_coordinates(
    shape: tuple[int, ...],
    rng: np.random.Generator,
    strength: float = 1.0,
    voxel_mm: float = 2.0,
    scales: tuple[tuple[int, float], ...] = DEFAULT_SCALES,
) -> np.ndarray:
    """Sampling coordinates of one random deformation: affine plus displacements at every scale, composed.

    Args:
        shape: the voxel grid ``(X, Y, Z)``.
        rng: the random generator.
        strength: multiplies every magnitude (rotation up to 0.1 rad, scaling up to 7%, shift up to 4 mm and each
            scale's displacement std); 0 gives the identity. Defaults to 1.0.
        voxel_mm: voxel size in mm. Defaults to 2.0.
        scales: ``(nodes per axis, displacement std in mm)`` per scale. Defaults to ``DEFAULT_SCALES``.

    Returns:
        float32 ``(3, X, Y, Z)``: for each output voxel, the template voxel coordinates it samples.

    Raises:
        ValueError: ``strength`` < 0 or ``voxel_mm`` <= 0.
    """
    if strength < 0 or voxel_mm <= 0:
        raise ValueError(f"strength must be >= 0 and voxel_mm > 0, got {strength} and {voxel_mm}")
    low = tuple(max(int(np.ceil(s * voxel_mm / _FIELD_MM)), 2) for s in shape)
    step = np.array([(s - 1) / (m - 1) for s, m in zip(shape, low, strict=True)], np.float32)[:, None, None, None]
    coords = _affine(np.indices(low, dtype=np.float32) * step, shape, rng, strength, voxel_mm)
    velocity = np.zeros((3, *low), np.float32)
    for nodes, std_mm in scales:
        velocity += smooth_field(low, rng, nodes, std_mm * strength / _FIELD_MM, channels=3)
    coords += _integrate(velocity) * step  # low-grid voxels to output voxels
    # the affine part is linear, so trilinear upsampling of the coarse coordinates reproduces it exactly
    full = F.interpolate(torch.from_numpy(coords)[None], size=tuple(shape), mode="trilinear", align_corners=True)
    return full[0].numpy()


def _integrate(velocity: np.ndarray, squarings: int = 3) -> np.ndarray:
    """Displacement ``(3, ...)`` of the flow of the stationary ``velocity`` (voxel units): scaling and squaring.

    The flow of a smooth velocity field is a diffeomorphism, so the anatomy never folds, however strong.
    """
    identity = np.indices(velocity.shape[1:], dtype=np.float32)
    displacement = velocity / np.float32(2.0**squarings)
    for _ in range(squarings):
        displacement = displacement + resample(displacement, identity + displacement, padding="border")
    return displacement


def resample(volume: np.ndarray, coords: np.ndarray, mode: str = "bilinear", padding: str = "zeros") -> np.ndarray:
    """Sample ``(C, X, Y, Z)`` ``volume`` at voxel coordinates ``(3, X', Y', Z')`` (torch ``grid_sample``).

    Args:
        volume: the channels to sample.
        coords: voxel coordinates, as :func:`random_coordinates` returns.
        mode: ``"bilinear"`` (trilinear in 3-D) or ``"nearest"``. Defaults to "bilinear".
        padding: ``grid_sample`` padding mode outside the volume. Defaults to "zeros".

    Returns:
        float32 ``(C, X', Y', Z')``.
    """
    grid = np.empty((*coords.shape[1:], 3), np.float32)  # (X', Y', Z', 3) holding (z, y, x) in [-1, 1]
    for axis, size in enumerate(volume.shape[1:]):
        grid[..., 2 - axis] = coords[axis] * np.float32(2.0 / (size - 1.0)) - np.float32(1.0)
    source = np.ascontiguousarray(volume, dtype=np.float32)
    source = torch.from_numpy(source if source.flags.writeable else source.copy())[None]  # torch needs writeable
    sampled = F.grid_sample(source, torch.from_numpy(grid)[None], mode=mode, padding_mode=padding, align_corners=True)
    return sampled[0].numpy()


def deform(volumes: np.ndarray, rng: np.random.Generator, strength: float = 1.0, voxel_mm: float = 2.0) -> np.ndarray:
    """Warp ``(C, X, Y, Z)`` ``volumes`` (e.g. an image and its brain mask) with one random deformation.

    Args:
        volumes: channels sharing one grid; all get the same deformation.
        rng: the random generator.
        strength: deformation strength, see :func:`random_coordinates`. Defaults to 1.0.
        voxel_mm: voxel size in mm. Defaults to 2.0.

    Returns:
        float32 ``(C, X, Y, Z)``, trilinearly resampled once (threshold masks at 0.5).

    Raises:
        ValueError: ``strength`` < 0 or ``voxel_mm`` <= 0.
    """
    return resample(volumes, random_coordinates(volumes.shape[1:], rng, strength, voxel_mm))
