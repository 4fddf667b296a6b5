"""The progressive GAN's training schedule: which resolution stage, fade-in alpha and batch each iteration uses.

Stage lengths are given in images shown (PGGAN counts thousands of images, "kimg"), the first ``fade_fraction``
of each stage after the first fading the new resolution in (alpha 0 -> 1). The schedule is a pure function of the
trainer's epoch and iteration, so a resumed run is at exactly the stage and alpha it stopped at.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from medmonai.errors import ConfigError

__all__ = ["Progress", "ProgressiveSchedule", "check_progressive_shape"]


@dataclass(frozen=True)
class Progress:
    """Where training is: the resolution ``stage`` (0 = base), the fade-in ``alpha`` and the ``batch_size``."""

    stage: int
    alpha: float
    batch_size: int


class ProgressiveSchedule:
    """Stages of a progressive GAN, in images shown per stage, with a batch size per stage.

    Each stage trains whole epochs: ``ceil(images / (iterations_per_epoch * batch_size))`` of them, at least
    one. A stage's batch is the first ``batch_size`` images of each loaded batch, so the data loader's batch is
    the largest stage batch (high resolutions usually take smaller batches).

    Args:
        images: images shown per stage, one entry per stage from the base resolution up.
        batch_size: the batch of each stage (one entry per stage), or one batch for all.
        fade_fraction: share of each stage after the first that fades the new resolution in. Defaults to 0.5.

    Raises:
        ConfigError: no stage, a non-positive entry, lists of different lengths, or a fraction outside [0, 1].
    """

    def __init__(self, images: Sequence[int], batch_size: Sequence[int] | int, fade_fraction: float = 0.5) -> None:
        images = [int(n) for n in images]
        batches = [int(batch_size)] * len(images) if isinstance(batch_size, int) else [int(b) for b in batch_size]
        if not images or min(images) < 1 or min(batches, default=0) < 1:
            raise ConfigError(f"stages need images >= 1 and batch_size >= 1 per stage, got {images} and {batches}")
        if len(batches) != len(images):
            raise ConfigError(f"stages: {len(images)} stages of images but {len(batches)} batch sizes")
        if not 0.0 <= fade_fraction <= 1.0:
            raise ConfigError(f"fade_fraction must be in [0, 1], got {fade_fraction}")
        self.images, self.batches, self.fade_fraction = images, batches, float(fade_fraction)

    @property
    def n_stages(self) -> int:
        """How many stages."""
        return len(self.images)

    @property
    def max_batch_size(self) -> int:
        """The data loader's batch: the largest stage batch."""
        return max(self.batches)

    def check_reaches(self, n_stages: int, what: str = "the networks") -> None:
        """Refuse a schedule whose stages do not match the networks' (it would not reach the final shape).

        Raises:
            ConfigError: naming both counts.
        """
        if self.n_stages != n_stages:
            raise ConfigError(
                f"stages: the schedule has {self.n_stages} stages but {what} have {n_stages} (base shape doubled "
                f"{n_stages - 1} times to the final shape); give one images/batch_size entry per stage"
            )

    def stage_epochs(self, iterations_per_epoch: int) -> list[int]:
        """Epochs each stage trains for, with ``iterations_per_epoch`` batches per epoch."""
        pairs = zip(self.images, self.batches, strict=True)
        return [max(1, math.ceil(n / (iterations_per_epoch * b))) for n, b in pairs]

    def total_epochs(self, iterations_per_epoch: int) -> int:
        """Epochs of the whole schedule (the trainer's ``max_epochs``)."""
        return sum(self.stage_epochs(iterations_per_epoch))

    def progress(self, epoch: int, iteration: int, iterations_per_epoch: int) -> Progress:
        """Stage, alpha and batch of the ``iteration``-th iteration (1-based, counted over the run) in ``epoch``.

        Past the last stage's epochs, training stays at the last stage with alpha 1.
        """
        first = 0
        for stage, epochs in enumerate(self.stage_epochs(iterations_per_epoch)):
            if epoch <= first + epochs or stage == self.n_stages - 1:
                done = (epoch - 1 - first) * iterations_per_epoch + (iteration - 1) % iterations_per_epoch
                fade = self.fade_fraction * epochs * iterations_per_epoch
                alpha = 1.0 if stage == 0 or fade == 0 else min(1.0, (done + 1) / fade)
                return Progress(stage, float(alpha), self.batches[stage])
            first += epochs
        raise AssertionError("unreachable")  # the last stage catches every later epoch


def check_progressive_shape(
    base_shape: Sequence[int], n_stages: int, image_shape: Sequence[int], model: str = "pggan"
) -> tuple[int, int] | None:
    """Refuse a progressive setup whose last stage is not ``image_shape``: sides must be base sides times 2**(n-1).

    Args:
        base_shape: the first stage's ``[height, width]``.
        n_stages: how many stages the schedule has.
        image_shape: the ``[height, width]`` the last stage must reach.
        model: the bundle's model; only ``"pggan"`` grows by stages, any other is not checked. Defaults to "pggan".

    Returns:
        The final shape, or None for a model that does not grow by stages.

    Raises:
        ConfigError: naming the shape the stages reach and, when one exists, the number of stages that would fit.
    """
    if model != "pggan":
        return None
    base = [int(s) for s in base_shape]
    target = [int(s) for s in image_shape]
    if len(base) != 2 or len(target) != 2 or min(base + target) < 1:
        raise ConfigError(f"base_shape and image_shape must be [height, width] > 0, got {base} and {target}")
    reached = [b * 2 ** (n_stages - 1) for b in base]
    if reached == target:
        return reached[0], reached[1]
    ratios = {t / b for t, b in zip(target, base, strict=True)}
    fits = len(ratios) == 1 and (ratio := ratios.pop()).is_integer() and int(ratio) & (int(ratio) - 1) == 0
    hint = (
        f"give {int(math.log2(ratio)) + 1} stages"
        if fits
        else f"image_shape must be base_shape times a power of two (e.g. {base[0] * 8}x{base[1] * 8})"
    )
    raise ConfigError(
        f"stages: {n_stages} stages from base_shape {base[0]}x{base[1]} reach {reached[0]}x{reached[1]}, not "
        f"image_shape {target[0]}x{target[1]}; {hint}"
    )
