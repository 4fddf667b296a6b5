"""Paste synthetic anomalies into batches of healthy patches, with the map of where each patch was changed.

A self-supervised anomaly segmenter learns to find these on healthy data alone. They are deliberately generic
(foreign tissue, intensity shifts, local blur or sharpening in random smooth shapes) and are written apart from the
test lesion generator, so that a benchmark on test lesions measures generalisation, not recall of the generator.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from monai.transforms import Transform

from medmonai.errors import ConfigError

__all__ = ["ANOMALY_KINDS", "SyntheticAnomalies"]

ANOMALY_KINDS = ("foreign_patch", "intensity_shift", "blur", "sharpen")


def _uniform(low: float, high: float, device: torch.device) -> float:
    return float(low + (high - low) * torch.rand((), device=device))


class SyntheticAnomalies(Transform):
    """Corrupt a ``(B, C, X, Y, Z)`` batch of healthy patches; return it with a ``(B, 1, X, Y, Z)`` target in [0, 1].

    Each patch receives, with probability ``prob``, ``1`` to ``max_anomalies`` anomalies. Each is a random smooth
    shape (a superellipsoid of random radii and exponent with a soft border) centred on a nonzero voxel, inside the
    nonzero region (the brain, once volumes are masked), filled by one of :data:`ANOMALY_KINDS`:

    - ``foreign_patch``: the same place in another patch of the batch (another location, usually another subject),
      flipped at random, blended in with a random factor (foreign patch interpolation);
    - ``intensity_shift``: a brighter or darker region;
    - ``blur`` / ``sharpen``: local smoothing, or unsharp masking.

    The target is the blend weight of the change (FPI-style soft labels): positive exactly where the patch changed.
    Randomness comes from torch's global generator, which training checkpoints save, so resumed runs draw the same.

    Args:
        prob: chance that a patch receives anomalies. Defaults to 0.7.
        max_anomalies: most anomalies per patch. Defaults to 2.
        radius_range: shape radii in voxels, drawn per axis. Defaults to (2.0, 10.0).
        shift_range: absolute intensity shift in normalised units. Defaults to (0.15, 0.7).
        kinds: the kinds to draw from, uniformly. Defaults to all of :data:`ANOMALY_KINDS`.

    Raises:
        ConfigError: ``prob`` outside [0, 1], ``max_anomalies`` < 1, bad ranges or an unknown kind.
    """

    def __init__(
        self,
        prob: float = 0.7,
        max_anomalies: int = 2,
        radius_range: tuple[float, float] = (2.0, 10.0),
        shift_range: tuple[float, float] = (0.15, 0.7),
        kinds: tuple[str, ...] = ANOMALY_KINDS,
    ) -> None:
        unknown = set(kinds) - set(ANOMALY_KINDS)
        if not 0 <= prob <= 1 or max_anomalies < 1 or unknown or not kinds:
            raise ConfigError(
                f"SyntheticAnomalies needs prob in [0, 1], max_anomalies >= 1 and kinds from {ANOMALY_KINDS}, "
                f"got prob={prob}, max_anomalies={max_anomalies}, kinds={kinds}"
            )
        if not 0 < radius_range[0] <= radius_range[1] or not 0 < shift_range[0] <= shift_range[1]:
            raise ConfigError(
                f"radius_range and shift_range must be positive (low, high), got {radius_range}, {shift_range}"
            )
        self.prob = float(prob)
        self.max_anomalies = int(max_anomalies)
        self.radius_range = tuple(float(r) for r in radius_range)
        self.shift_range = tuple(float(s) for s in shift_range)
        self.kinds = tuple(kinds)

    def __call__(self, img: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Return ``(corrupted batch, target)``; the input is left unchanged."""
        if img.dim() != 5:
            raise ValueError(f"SyntheticAnomalies input must be (B, C, X, Y, Z), got shape {tuple(img.shape)}")
        out = img.clone()
        target = torch.zeros((img.shape[0], 1, *img.shape[2:]), dtype=img.dtype, device=img.device)
        for b in range(img.shape[0]):
            if float(torch.rand(())) >= self.prob:
                continue
            for _ in range(int(torch.randint(1, self.max_anomalies + 1, ()))):
                self._paste(img, out, target, b)
        return out, target

    def _paste(self, img: torch.Tensor, out: torch.Tensor, target: torch.Tensor, b: int) -> None:
        region = (img[b] != 0).any(0)
        weight = self.shape(region) * region
        if not bool(weight.any()):
            return
        kind = self.kinds[int(torch.randint(len(self.kinds), ()))]
        x = out[b]
        if kind == "foreign_patch":
            source = img[(b + int(torch.randint(1, max(img.shape[0], 2), ()))) % img.shape[0]]
            flips = [d + 1 for d in range(3) if float(torch.rand(())) < 0.5]
            source = source.flip(flips) if flips else source
            weight = weight * _uniform(0.3, 1.0, img.device)
            change = source - x
        elif kind == "intensity_shift":
            sign = 1.0 if float(torch.rand(())) < 0.5 else -1.0
            change = torch.full_like(x, sign * _uniform(*self.shift_range, img.device))
        else:
            smooth = F.avg_pool3d(x[None], 5, stride=1, padding=2, count_include_pad=False)[0]
            strength = 1.0 if kind == "blur" else -_uniform(1.0, 3.0, img.device)
            change = strength * (smooth - x)
        changed = (change.abs() > 1e-6).all(0)
        weight = weight * changed
        out[b] = x + weight * change
        target[b, 0] = torch.maximum(target[b, 0], weight)

    def shape(self, region: torch.Tensor) -> torch.Tensor:
        """A random soft superellipsoid ``(X, Y, Z)`` in [0, 1] centred on a voxel of ``region`` (all zero if empty)."""
        candidates = region.nonzero()
        if len(candidates) == 0:
            return torch.zeros(region.shape, device=region.device)
        centre = candidates[int(torch.randint(len(candidates), ()))].float()
        radii = torch.tensor([_uniform(*self.radius_range, region.device) for _ in range(3)], device=region.device)
        exponent = _uniform(1.2, 3.0, region.device)
        axes = [torch.arange(s, device=region.device, dtype=torch.float32) for s in region.shape]
        grid = torch.stack(torch.meshgrid(*axes, indexing="ij"))
        level = (((grid - centre[:, None, None, None]).abs() / radii[:, None, None, None]) ** exponent).sum(0)
        return ((1.0 - level) / 0.3).clamp(0.0, 1.0)  # soft border over the outer 30% of the level
