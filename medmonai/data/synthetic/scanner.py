"""Random scanner effects on a phantom image, returned as int16 like scanner output.

In acquisition order, each drawn per volume and recorded in a settings dict:

1. resolution: a random coarser acquired voxel (a box point-spread function, approximated by a Gaussian); one
   random axis may be acquired with thick slices (2-3x) instead, averaged down and interpolated back, as in
   clinical 2-D sequences;
2. sharpness: a Gaussian blur, unsharp masking (the scanner's edge enhancement), or neither;
3. an artefact or none: Gibbs ringing (k-space truncation, MONAI ``GibbsNoise``) or motion ghosts (every n-th
   k-space line along a phase-encoding axis scaled, which replicates the image shifted by 1/n of the field of view);
4. a smooth multiplicative bias field (MONAI ``RandBiasField``), a gamma change (MONAI ``AdjustContrast``) and
   Gaussian noise (drawn from the subject's numpy generator: MONAI's ``RandGaussianNoise`` draws float64 from a
   legacy ``RandomState``, twice as slow, for the same result);
5. masking to the brain plus a 2-voxel rim, a random global scale, rounding to int16.

Blurs use ``scipy.ndimage.gaussian_filter``: MONAI's ``GaussianSmooth``/``GaussianSharpen`` give the same result
several times slower on CPU (torch convolutions), and generation time matters here.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from monai.data import MetaTensor
from monai.transforms import AdjustContrast, GibbsNoise, RandBiasField
from scipy import ndimage

__all__ = ["SCANNER_RANGES", "scanner_effects"]

SCANNER_RANGES = {
    "voxel_scale": (1.0, 1.25),  # acquired voxel size / grid voxel size, per axis
    "thick_slices": (2.0, 3.0),  # slice thickness / grid voxel size on the thick axis (probability 0.25)
    "blur_sigma": (0.3, 0.7),  # voxels
    "sharpen_amount": (0.3, 0.8),  # unsharp masking: image + amount * (image - blur(image, 1 voxel))
    "gibbs_alpha": (0.2, 0.5),  # fraction of k-space truncated
    "ghost_intensity": (0.2, 0.6),  # fraction by which every n-th k-space line is scaled down
    "bias_coeff": (0.05, 0.3),  # bound of the Legendre coefficients of the log bias field
    "gamma": (0.8, 1.25),
    "noise_std": (0.005, 0.03),  # fraction of the brightest tissue
    "scale": (800.0, 1600.0),  # global intensity scale before rounding to int16
}


def _numpy(tensor: torch.Tensor) -> np.ndarray:
    """A MONAI output (``MetaTensor`` or tensor) as a numpy array, without the metadata machinery."""
    return (tensor.as_tensor() if isinstance(tensor, MetaTensor) else tensor).numpy()


def _seeded(transform, rng: np.random.Generator):
    transform.set_random_state(seed=int(rng.integers(2**31)))
    return transform


def _resolution(image: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, dict]:
    """Coarser acquired voxels (a box PSF, as a Gaussian) and, on one axis at times, thick slices resampled."""
    factors = rng.uniform(*SCANNER_RANGES["voxel_scale"], size=3)
    thick_axis = int(rng.integers(3)) if rng.random() < 0.25 else None
    if thick_axis is not None:
        factors[thick_axis] = rng.uniform(*SCANNER_RANGES["thick_slices"])
    settings = {"voxel_scale": [round(float(f), 3) for f in factors], "thick_axis": thick_axis}
    sigma = np.sqrt((factors**2 - 1.0) / 12.0)  # a box of f voxels has variance f^2 / 12; the grid already 1 / 12
    if thick_axis is None:
        return ndimage.gaussian_filter(image, sigma, truncate=3.0), settings
    sigma[thick_axis] = 0.0
    coarse = list(image.shape)
    coarse[thick_axis] = max(int(round(image.shape[thick_axis] / factors[thick_axis])), 2)
    volume = torch.from_numpy(ndimage.gaussian_filter(image, sigma, truncate=3.0))[None, None]
    slices = F.interpolate(volume, size=tuple(coarse), mode="area")  # each slice averages its thickness
    return F.interpolate(slices, size=image.shape, mode="trilinear", align_corners=False)[0, 0].numpy(), settings


def _sharpness(image: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, dict]:
    """A Gaussian blur, unsharp masking, or neither (a third each)."""
    kind = ("none", "blur", "sharpen")[int(rng.integers(3))]
    if kind == "blur":
        sigma = float(rng.uniform(*SCANNER_RANGES["blur_sigma"]))
        return ndimage.gaussian_filter(image, sigma, truncate=3.0), {"sharpness": kind, "blur_sigma": round(sigma, 3)}
    if kind == "sharpen":
        amount = float(rng.uniform(*SCANNER_RANGES["sharpen_amount"]))
        detail = image - ndimage.gaussian_filter(image, 1.0, truncate=3.0)
        return image + np.float32(amount) * detail, {"sharpness": kind, "sharpen_amount": round(amount, 3)}
    return image, {"sharpness": kind}


def _ghosts(image: np.ndarray, axis: int, period: int, intensity: float) -> np.ndarray:
    """Motion ghosts: every ``period``-th k-space line along ``axis`` (the centre excepted) scaled down."""
    spectrum = np.fft.fft(image, axis=axis)
    lines = np.ones(image.shape[axis], np.float32)
    lines[::period] = 1.0 - intensity
    lines[0] = 1.0  # the centre of k-space (zero frequency) carries the image's mean
    shape = [1, 1, 1]
    shape[axis] = -1
    return np.abs(np.fft.ifft(spectrum * lines.reshape(shape), axis=axis)).astype(np.float32)


def _artefact(image: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, dict]:
    """Gibbs ringing (probability 0.25), motion ghosts (0.25) or none."""
    draw = rng.random()
    if draw < 0.25:
        alpha = float(rng.uniform(*SCANNER_RANGES["gibbs_alpha"]))
        ringing = _numpy(GibbsNoise(alpha)(torch.from_numpy(image)[None]))[0]
        return ringing, {"artefact": "gibbs", "gibbs_alpha": round(alpha, 3)}
    if draw < 0.5:
        axis, period = int(rng.integers(3)), int(rng.integers(2, 5))
        intensity = float(rng.uniform(*SCANNER_RANGES["ghost_intensity"]))
        settings = {
            "artefact": "ghosts",
            "ghost_axis": axis,
            "ghost_period": period,
            "ghost_intensity": round(intensity, 3),
        }
        return _ghosts(image, axis, period, intensity), settings
    return image, {"artefact": "none"}


def scanner_effects(image: np.ndarray, brain: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, dict]:
    """Apply random scanner effects (see the module docstring) and return the volume as int16.

    Args:
        image: float ``(X, Y, Z)`` phantom, about [0, 1] (brightest tissue near 1), 0 outside the brain.
        brain: boolean ``(X, Y, Z)`` brain mask; the output is 0 beyond it plus a 2-voxel rim.
        rng: the random generator (MONAI's random transforms are seeded from it).

    Returns:
        ``(volume, settings)``: int16 ``(X, Y, Z)`` and the drawn settings (JSON-serialisable).

    Raises:
        ValueError: ``image`` and ``brain`` differ in shape.
    """
    if image.shape != brain.shape:
        raise ValueError(f"image {image.shape} and brain {brain.shape} differ in shape")
    settings: dict = {}
    out = np.asarray(image, np.float32)
    for step in (_resolution, _sharpness, _artefact):
        out, drawn = step(out, rng)
        settings.update(drawn)
    bound = float(rng.uniform(*SCANNER_RANGES["bias_coeff"]))
    gamma = float(rng.uniform(*SCANNER_RANGES["gamma"]))
    std = float(rng.uniform(*SCANNER_RANGES["noise_std"]))
    volume = torch.from_numpy(np.ascontiguousarray(out))[None]  # MONAI is quickest on plain tensors
    volume = _seeded(RandBiasField(coeff_range=(-bound, bound), prob=1.0), rng)(volume)
    volume = AdjustContrast(gamma)(volume.clamp(min=0.0))
    out = _numpy(volume)[0] + rng.standard_normal(out.shape, dtype=np.float32) * np.float32(std)
    scale = float(rng.uniform(*SCANNER_RANGES["scale"]))
    rim = ndimage.binary_dilation(np.asarray(brain, bool), iterations=2)
    out = np.clip(out, 0.0, None) * rim * np.float32(scale)
    settings.update(bias_coeff=round(bound, 4), gamma=round(gamma, 4), noise_std=round(std, 4), scale=round(scale, 1))
    return np.round(np.minimum(out, np.iinfo(np.int16).max)).astype(np.int16), settings
