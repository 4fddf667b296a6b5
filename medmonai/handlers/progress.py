"""A tqdm progress bar that picks the useful granularity."""

from __future__ import annotations

from typing import Any

from ignite.engine import Engine, Events
from ignite.handlers import ProgressBar

from medmonai.errors import ConfigError

__all__ = ["TrainingProgressBar"]


class TrainingProgressBar:
    """Ignite ``ProgressBar`` over iterations for long epochs, or over epochs for many short ones.

    One bar per epoch is right for MNIST-sized epochs; for hundreds of sub-second epochs a single bar over
    epochs reads better. With ``level="auto"`` the choice is made from the epoch length when the run starts.

    Args:
        level: ``"iteration"``, ``"epoch"`` or ``"auto"``. Defaults to ``"auto"``.
        min_iterations: in auto mode, epochs with at least this many iterations get per-iteration bars.
            Defaults to 50.
        metric_names: engine metrics shown on the bar. Defaults to ``"all"``.
        **kwargs: passed to ignite's ``ProgressBar`` (``persist``, ``bar_format``, ...).
    """

    def __init__(
        self, level: str = "auto", min_iterations: int = 50, metric_names: str | list[str] = "all", **kwargs: Any
    ) -> None:
        if level not in ("auto", "iteration", "epoch"):
            raise ConfigError(f"level must be 'auto', 'iteration' or 'epoch', got {level!r}")
        self.level = level
        self.min_iterations = min_iterations
        self.metric_names = metric_names
        self.bar = ProgressBar(**kwargs)

    def attach(self, engine: Engine) -> None:
        """Attach the bar; the granularity is resolved from ``engine.state.epoch_length``."""
        level = self.level
        if level == "auto":
            length = engine.state.epoch_length or 0
            level = "iteration" if length >= self.min_iterations else "epoch"
        if level == "iteration":
            self.bar.attach(engine, metric_names=self.metric_names)
        else:
            self.bar.attach(
                engine,
                metric_names=self.metric_names,
                event_name=Events.EPOCH_COMPLETED,
                closing_event_name=Events.COMPLETED,
            )
