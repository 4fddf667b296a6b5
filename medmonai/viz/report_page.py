"""The self-contained HTML page of per-case results: a table of every case, then each case's figure, inline."""

from __future__ import annotations

import base64
import html
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["ReportCase", "case_report_page"]


@dataclass(frozen=True)
class ReportCase:
    """One case of the page: id, flag, table cells, a line of detail, and its figure (PNG bytes; None: no section)."""

    case_id: str
    abnormal: bool
    cells: Sequence[str]
    detail: str
    figure: bytes | None


def case_report_page(title: str, intro: str, columns: Sequence[str], cases: Sequence[ReportCase]) -> str:
    """The page: ``intro`` (HTML), a table (case, flag, ``columns``), and a section per case with a figure.

    Abnormal rows are tinted; every figure is embedded as base64, so the page opens without its folder.

    Args:
        title: the page's title and heading (plain text).
        intro: a paragraph of HTML under the heading (escape what it quotes).
        columns: headers of the table's cells after case and flag (plain text).
        cases: the cases, in table order.
    """

    def flag(case: ReportCase) -> str:
        return "ABNORMAL" if case.abnormal else "normal"

    def name(i: int, case: ReportCase) -> str:
        return f'<a href="#case-{i}">{html.escape(case.case_id)}</a>' if case.figure else html.escape(case.case_id)

    head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
    rows = "".join(
        f'<tr class="{"abnormal" if c.abnormal else "normal"}"><td>{name(i, c)}</td><td>{flag(c)}</td>'
        + "".join(f"<td>{html.escape(cell)}</td>" for cell in c.cells)
        + "</tr>"
        for i, c in enumerate(cases)
    )
    sections = "".join(
        f'<section id="case-{i}" class="case"><h2>{html.escape(c.case_id)}: <span class="flag">{flag(c)}</span>'
        f"</h2><p>{c.detail}</p>"
        f'<img alt="overlay of {html.escape(c.case_id)}" src="data:image/png;base64,'
        f'{base64.b64encode(c.figure).decode()}"></section>'
        for i, c in enumerate(cases)
        if c.figure
    )
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>
body {{ font-family: sans-serif; margin: 2em; max-width: 1100px; }}
table {{ border-collapse: collapse; }} td, th {{ border: 1px solid #999; padding: 4px 10px; text-align: right; }}
tr.abnormal td {{ background: #fde0dc; font-weight: bold; }} img {{ max-width: 100%; }}
.case {{ margin-top: 2em; border-top: 1px solid #ccc; }}
</style></head><body>
<h1>{html.escape(title)}</h1>
<p>{intro}</p>
<table id="cases"><thead><tr><th>case</th><th>flag</th>{head}</tr></thead><tbody>{rows}</tbody></table>
{sections}
</body></html>
"""
