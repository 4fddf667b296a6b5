"""Evaluator handler drawing the histogram of a per-item batch value, split by class."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from ignite.engine import Engine

from medmonai.engines.collect import ScoreBuffer
from medmonai.keys import Keys
from medmonai.utils.outputs import figure_png_bytes, write_outputs
from medmonai.viz.figures import histogram_figure

__all__ = ["ValueHistogram"]


class ValueHistogram(ScoreBuffer):
    """Collect ``engine.state.batch[key]`` over an evaluation and save its histogram per class as a PNG.

    Args:
        output_dir: folder of the figure.
        key: per-item batch value, e.g. ``"lesion_fraction"``.
        file_name: PNG name. Defaults to ``"<key>_hist.png"``.
        class_names: legend text per label. Defaults to the label number.
        log_count: logarithmic count axis. Defaults to True.
    """

    def __init__(
        self,
        output_dir: str | Path,
        key: str,
        file_name: str | None = None,
        class_names: dict[int, str] | None = None,
        log_count: bool = True,
    ) -> None:
        super().__init__(batch_keys=(key, Keys.LABEL))
        self.output_dir = Path(output_dir)
        self.key = key
        self.file_name = file_name or f"{key}_hist.png"
        self.class_names = {int(k): v for k, v in class_names.items()} if class_names else {}
        self.log_count = log_count

    def completed(self, engine: Engine) -> None:
        """Draw and save the histogram."""
        values = self.values(self.key).astype(np.float64).reshape(-1)
        labels = self.values(Keys.LABEL).reshape(-1)
        groups = {self.class_names.get(int(c), str(c)): values[labels == c] for c in np.unique(labels)}
        fig = histogram_figure(
            groups, xlabel=self.key, title=f"{self.key} of {len(values)} items", log_count=self.log_count
        )
        write_outputs(self.output_dir, {self.file_name: figure_png_bytes(fig)})
