"""What an anomaly method is: a network with its training objective (or none), and the map it draws."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import ClassVar

import torch
from monai.inferers import SlidingWindowInferer
from torch import nn

from medmonai.engines import ReconstructionTrainer
from medmonai.errors import ConfigError
from medmonai.keys import Keys
from medmonai.runs import load_weights
from medmonai.scoring import SlidingWindowMapper, window_scorer

__all__ = ["AnomalyMethod", "INPUTS"]

INPUTS = ("patch", "volume")  # what the map is drawn from: sliding-window patches, or the whole volume at once


class AnomalyMethod:
    """One anomaly method: what it needs, how it trains, and the voxel-wise map it draws.

    A subclass declares its needs as class attributes and builds its pieces on request, so a bundle asks the method
    for them by name (``--model``) instead of keeping one dict per piece. Its ``__init__`` takes the settings it
    uses, with defaults; :func:`medmonai.methods.create` passes it those of a bundle's ``method_settings``.

    Declarations:
        needs_weights: the map needs trained weights (``<output_dir>/<name>/model.pt``); False for a method that
            maps as it is (intensity thresholding).
        input: ``"patch"`` (the map is tiled from ``roi_size`` windows by MONAI's sliding window) or
            ``"volume"`` (drawn from the whole volume at once).
        template_space: the map is only meaningful after registration to a template (False: subject space).
        prediction: the network output MONAI's bundle tooling sees (``verify_net_in_out``, ``ckpt_export``); None
            for a network that returns one tensor.
        trainer: the engine that trains it (a MONAI ``SupervisedTrainer`` subclass taking ``corruption``).
    """

    name: ClassVar[str] = ""
    needs_weights: ClassVar[bool] = True
    input: ClassVar[str] = "patch"
    template_space: ClassVar[bool] = False
    prediction: ClassVar[str | None] = Keys.RECON
    trainer: ClassVar[type | None] = ReconstructionTrainer
    map_kind: str = "absolute"

    def network(self) -> nn.Module:
        """The network to train and to map with (untrained)."""
        raise ConfigError(f"method {self.name!r} has no network to train: it maps with no weights")

    def loss(self) -> Callable:
        """The training loss, ``loss(prediction, target)`` (a dict-output network passes the keys it declares)."""
        return nn.MSELoss()

    def corruption(self) -> Callable | None:
        """What the trainer does to each healthy batch before the network sees it; None for nothing."""
        return None

    def scorer(self, network: nn.Module | None) -> nn.Module:
        """The map of one input window (or volume): ``(B, C, ...)`` to ``(B, 1, ...)``, higher is more anomalous."""
        return window_scorer(network, self.map_kind)

    def mapper(
        self,
        inferer: SlidingWindowInferer,
        weights: str | Path | None = None,
        device: torch.device | str = "cpu",
    ) -> SlidingWindowMapper:
        """A whole-volume mapper: the trained network (``weights`` loaded, when needed) in ``inferer``'s window.

        Raises:
            ConfigError: no ``weights`` for a method that needs them.
            CheckpointError: the weights file is missing or does not fit the network.
        """
        network = None
        if self.needs_weights:
            if weights is None:
                raise ConfigError(f"method {self.name!r} needs trained weights; train it first")
            network = self.network().to(device)
            load_weights(weights, network, map_location=device)
        scorer = self.scorer(network)
        scorer.windowed = self.input == "patch"
        return SlidingWindowMapper(scorer, inferer.roi_size, device=device, inferer=inferer)
