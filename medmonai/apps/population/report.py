"""What a population analysis writes: metrics and files staged until the end, and its self-contained HTML report."""

from __future__ import annotations

import base64
import html
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from medmonai.utils.outputs import StagedFiles, figure_png_bytes, json_bytes, read_json

__all__ = ["AnalysisOutputs", "report_page"]

logger = logging.getLogger(__name__)


class AnalysisOutputs:
    """What the sections produce: metrics, and files staged under their names until :meth:`commit`."""

    def __init__(self, output_dir: Path) -> None:
        self.output_dir = output_dir
        self.metrics: dict[str, Any] = {}
        self.figures: dict[str, bytes] = {}
        self.staged = StagedFiles(output_dir, name="population-analysis")

    def figure(self, name: str, fig) -> None:
        """Stage a matplotlib figure as PNG under ``name``; it also goes into the report page."""
        self.figures[name] = figure_png_bytes(fig)
        self.staged.add(name, self.figures[name])

    def table(self, name: str, frame: pd.DataFrame, index: bool = False) -> None:
        """Stage a table as CSV under ``name``."""
        self.staged.add(name, frame.to_csv(index=index).encode())

    def commit(self, title: str) -> dict[str, Any]:
        """Merge the metrics into ``metrics.json``, add the report page, move every file into place."""
        merged = {**(read_json(self.output_dir / "metrics.json") or {}), **self.metrics}
        self.staged.add("metrics.json", json_bytes(merged))
        self.staged.add("report.html", report_page(title, self.metrics, self.figures).encode())
        written = self.staged.commit()
        logger.info(f"wrote {', '.join(p.name for p in written)} to {self.output_dir}")
        return merged


def report_page(title: str, metrics: Mapping[str, Any], figures: Mapping[str, bytes]) -> str:
    """A self-contained HTML page: the analysis metrics as a table, then every figure embedded as base64."""
    rows = "".join(
        f"<tr><td>{html.escape(k)}</td><td>{html.escape(f'{v:.4g}' if isinstance(v, float) else str(v))}</td></tr>"
        for k, v in sorted(metrics.items())
    )
    images = "".join(
        f'<section><h2>{html.escape(name)}</h2><img alt="{html.escape(name)}" '
        f'src="data:image/png;base64,{base64.b64encode(data).decode()}"></section>'
        for name, data in figures.items()
    )
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>
body {{ font-family: sans-serif; margin: 2em; max-width: 1100px; }}
table {{ border-collapse: collapse; }} td {{ border: 1px solid #999; padding: 3px 10px; }} img {{ max-width: 100%; }}
</style></head><body>
<h1>{html.escape(title)}</h1>
<table id="metrics"><tbody>{rows}</tbody></table>
{images}
</body></html>
"""
