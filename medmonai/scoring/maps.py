"""Voxel-wise anomaly maps: per-window scorers and the sliding window that tiles them over whole volumes."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from monai.inferers import SlidingWindowInferer
from torch import nn

from medmonai.errors import ConfigError, DataError
from medmonai.keys import Keys
from medmonai.losses import gaussian_kl

__all__ = [
    "MAP_KINDS",
    "RESIDUAL_KINDS",
    "AnomalyProbability",
    "ReconstructionResidual",
    "IntensityScore",
    "SlidingWindowMapper",
    "window_scorer",
]

RESIDUAL_KINDS = ("absolute", "positive", "elbo")
MAP_KINDS = (*RESIDUAL_KINDS, "probability")


class ReconstructionResidual(nn.Module):
    """Anomaly map of one window from a reconstruction network; every output voxel is spatial, as sliding windows need.

    Kinds, for input ``x`` and reconstruction ``r``:

    - ``"absolute"``: ``|x - r|``;
    - ``"positive"``: ``max(x - r, 0)``, brighter than expected only (hyperintense lesions);
    - ``"elbo"`` (VAEs): the per-voxel negative ELBO under a unit-variance Gaussian decoder,
      ``0.5 * (x - r)^2 + KL / n``, the window's KL spread evenly over its ``n`` voxels.

    The network is switched to eval mode, so VAEs decode the posterior mean.

    Args:
        network: maps ``(B, C, *roi)`` to a tensor or to a dict with ``recon`` (and ``mu``, ``logvar`` for elbo).
        kind: one of :data:`RESIDUAL_KINDS`. Defaults to ``"absolute"``.

    Raises:
        ConfigError: unknown ``kind``.
    """

    windowed = True

    def __init__(self, network: nn.Module, kind: str = "absolute") -> None:
        super().__init__()
        if kind not in RESIDUAL_KINDS:
            raise ConfigError(f"map kind of a reconstruction model must be one of {RESIDUAL_KINDS}, got {kind!r}")
        self.network = network.eval()
        self.kind = kind

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, C, *roi)`` windows to ``(B, 1, *roi)`` maps (channels averaged); >= 0."""
        out = self.network(x)
        recon = out[Keys.RECON] if isinstance(out, dict) else out
        residual = x - recon
        if self.kind == "positive":
            score = residual.clamp_min(0.0)
        elif self.kind == "absolute":
            score = residual.abs()
        else:
            if not isinstance(out, dict) or Keys.MU not in out:
                raise ConfigError("map kind 'elbo' needs a VAE returning mu and logvar")
            kl = gaussian_kl(out[Keys.MU], out[Keys.LOGVAR]) / residual[0].numel()
            score = 0.5 * residual.pow(2) + kl.view(-1, *([1] * (residual.dim() - 1)))
        return score.mean(1, keepdim=True)


class AnomalyProbability(nn.Module):
    """Anomaly map of one window from a segmenter: the sigmoid of its logits, the predicted anomaly probability.

    Args:
        network: maps ``(B, C, *roi)`` to ``(B, 1, *roi)`` logits, or to a dict holding them under ``pred``.
    """

    windowed = True

    def __init__(self, network: nn.Module) -> None:
        super().__init__()
        self.network = network.eval()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, C, *roi)`` windows to ``(B, 1, *roi)`` probabilities in [0, 1]."""
        out = self.network(x)
        logits = out[Keys.PRED] if isinstance(out, dict) else out
        return torch.sigmoid(logits.mean(1, keepdim=True))


def window_scorer(network: nn.Module, kind: str = "absolute") -> nn.Module:
    """The window scorer for a map ``kind``: :class:`AnomalyProbability` for ``"probability"``, else a residual.

    Raises:
        ConfigError: ``kind`` is not one of :data:`MAP_KINDS`.
    """
    if kind == "probability":
        return AnomalyProbability(network)
    if kind not in MAP_KINDS:
        raise ConfigError(f"map kind must be one of {MAP_KINDS}, got {kind!r}")
    return ReconstructionResidual(network, kind)


class IntensityScore(nn.Module):
    """The intensity-thresholding baseline: the (normalised) voxel intensity is the anomaly score."""

    windowed = False

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Return ``x`` (channels averaged) unchanged: ``(B, C, ...)`` to ``(B, 1, ...)``."""
        return x.mean(1, keepdim=True)


class SlidingWindowMapper:
    """Compute a whole-volume anomaly map by tiling a window scorer with MONAI's ``SlidingWindowInferer``.

    Windows are blended with ``mode`` (``"gaussian"`` or ``"constant"``), exactly as the stock inferer does; the
    volume is passed as a plain tensor (MetaTensor dispatch costs real time per window) under inference mode.

    Args:
        scorer: a window scorer such as :class:`ReconstructionResidual`; scorers with ``windowed = False``
            (:class:`IntensityScore`) are applied to the whole volume at once.
        roi_size: window size, one entry per spatial dim.
        overlap: fraction of overlap between windows, in [0, 1). Defaults to 0.25.
        mode: blending, ``"gaussian"`` or ``"constant"``. Defaults to ``"gaussian"``.
        sw_batch_size: windows per network call. Defaults to 8.
        device: where the network runs. Defaults to None (the input's device).
        inferer: a MONAI ``SlidingWindowInferer`` to use instead of one built from the settings above (a bundle's
            ``inferer``); its ``roi_size``, ``overlap``, ``mode`` and ``sw_batch_size`` then apply. Defaults to None.

    Raises:
        ConfigError: bad ``overlap`` or ``mode``.
    """

    def __init__(
        self,
        scorer: nn.Module,
        roi_size: Sequence[int],
        overlap: float = 0.25,
        mode: str = "gaussian",
        sw_batch_size: int = 8,
        device: torch.device | str | None = None,
        inferer: SlidingWindowInferer | None = None,
    ) -> None:
        if inferer is not None:
            roi_size, overlap, sw_batch_size = inferer.roi_size, inferer.overlap, inferer.sw_batch_size
            mode = getattr(inferer.mode, "value", inferer.mode)
        if not 0.0 <= overlap < 1.0 or mode not in ("gaussian", "constant"):
            raise ConfigError(f"overlap must be in [0, 1) and mode gaussian or constant, got {overlap}, {mode!r}")
        self.scorer = scorer.eval()
        self.roi_size = tuple(int(r) for r in roi_size)
        self.settings = {"roi_size": list(self.roi_size), "overlap": overlap, "mode": mode}
        self.settings["sw_batch_size"] = sw_batch_size
        # what shapes the map's values (sw_batch_size only sets the pace): a calibration holds for these alone
        self.map_settings = {**self.settings, "scorer": getattr(scorer, "kind", type(scorer).__name__)}
        del self.map_settings["sw_batch_size"]
        self.inferer = inferer or SlidingWindowInferer(
            roi_size=self.roi_size, sw_batch_size=sw_batch_size, overlap=overlap, mode=mode, sw_device=device
        )

    def check_fits(self, shape: Sequence[int], source: str) -> None:
        """Raise :class:`DataError` naming ``source`` when the window is larger than the volume in any dim."""
        if getattr(self.scorer, "windowed", True) and any(r > s for r, s in zip(self.roi_size, shape, strict=True)):
            raise DataError(
                f"{source}: roi_size {self.roi_size} is larger than the volume {tuple(shape)}; "
                "windows are never padded past the volume, so lower roi_size"
            )

    def __call__(self, image: torch.Tensor, source: str = "volume") -> torch.Tensor:
        """Map a ``(1, C, *spatial)`` volume to its ``(1, 1, *spatial)`` float32 anomaly map on the input's device.

        Raises:
            DataError: the window does not fit the volume (see :meth:`check_fits`).
        """
        image = image.as_tensor() if hasattr(image, "as_tensor") else image
        self.check_fits(image.shape[2:], source)
        with torch.inference_mode():
            if not getattr(self.scorer, "windowed", True):
                return self.scorer(image).float()
            return self.inferer(image, self.scorer).float()
