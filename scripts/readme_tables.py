"""Write the brain demo's result tables into the READMEs from a run's metrics, so the docs cannot drift from it.

Reads ``<run>/metrics.json`` (the embedded test set) and ``<run>/unseen_subject/metrics.json`` (the unseen real
subject), as ``bash scripts/demo.sh`` leaves them, and replaces what stands between these markers:

- ``<!-- tables:brain_summary -->`` in ``README.md``: voxel AUPRC on both sets and the unseen sample AUROC;
- ``<!-- tables:brain_unseen -->``, ``<!-- tables:brain_unseen_kinds -->`` and ``<!-- tables:brain_embedded -->``
  in ``bundles/brain_mri_anomaly/docs/README.md``.

Each block ends at ``<!-- /tables -->``. ``--check`` only reports whether the READMEs match the run (exit 1 if not).

    python scripts/readme_tables.py [--run runs/brain_mri_anomaly] [--check]
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BUNDLE_README = ROOT / "bundles" / "brain_mri_anomaly" / "docs" / "README.md"
OVERALL = ("voxel_auroc", "voxel_auprc", "dice_at_threshold", "dice_oracle", "lesion_detection_rate")
SAMPLE = ("sample_auroc", "sample_ap")
KINDS = ("hyperintense", "hypointense", "texture", "mass_effect")
DEFAULT_MODEL, DEFAULT_MAP = "ssad3d", "ssad3d|intensity|intensity~low"
SUMMARY = ("intensity_threshold", "ae3d", "ssad3d", "ssad3d~z", "ssad3d|intensity", DEFAULT_MAP)


def methods(metrics: dict) -> list[str]:
    """Methods as the report orders them: the baseline, the models, normative maps, then combinations."""

    def group(method: str) -> int:
        if method == "intensity_threshold":
            return 0
        return 3 if "+" in method or "|" in method else 2 if "~" in method else 1

    names = dict.fromkeys(k.split("/")[0] for k in metrics if "/" in k)
    return sorted(names, key=lambda m: (group(m), m))


def label(method: str) -> str:
    name = method.replace("|", "\\|")
    return {DEFAULT_MODEL: f"{name} (default model)", DEFAULT_MAP: f"{name} (default map)"}.get(method, name)


def row(cells) -> str:
    return "| " + " | ".join(cells) + " |"


def overall_table(metrics: dict) -> str:
    lines = [row(("method", *OVERALL, *SAMPLE)), row(["---"] * (1 + len(OVERALL) + len(SAMPLE)))]
    for m in methods(metrics):
        lines.append(row((label(m), *(f"{metrics[f'{m}/{k}']:.3f}" for k in (*OVERALL, *SAMPLE)))))
    return "\n".join(lines)


def kinds_table(metrics: dict) -> str:
    lines = [row(("method", *KINDS)), row(["---"] * (1 + len(KINDS)))]
    for m in methods(metrics):
        cells = (f"{metrics[f'{m}/voxel_auroc_{k}']:.3f} ({metrics[f'{m}/voxel_auprc_{k}']:.3f})" for k in KINDS)
        lines.append(row((label(m), *cells)))
    return "\n".join(lines)


def summary_table(embedded: dict, unseen: dict) -> str:
    head = (
        "method",
        "voxel AUPRC, real unseen brain",
        "voxel AUPRC, embedded test set",
        "sample AUROC, real unseen brain",
    )
    lines = [row(head), row(["---"] * 4)]
    for m in SUMMARY:
        lines.append(
            row(
                (
                    label(m),
                    *(
                        f"{d[f'{m}/{k}']:.3f}"
                        for d, k in ((unseen, "voxel_auprc"), (embedded, "voxel_auprc"), (unseen, "sample_auroc"))
                    ),
                )
            )
        )
    return "\n".join(lines)


def replace_block(text: str, name: str, table: str) -> str:
    pattern = re.compile(rf"(<!-- tables:{re.escape(name)} -->\n).*?(\n<!-- /tables -->)", re.S)
    if not pattern.search(text):
        raise SystemExit(f"readme_tables: no <!-- tables:{name} --> block")
    return pattern.sub(lambda match: match.group(1) + table + match.group(2), text)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--run", default=str(ROOT / "runs" / "brain_mri_anomaly"), help="the demo's output_dir")
    parser.add_argument("--check", action="store_true", help="only report whether the READMEs match the run")
    args = parser.parse_args()
    run = Path(args.run)
    try:
        embedded = json.loads((run / "metrics.json").read_text(encoding="utf-8"))
        unseen = json.loads((run / "unseen_subject" / "metrics.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        print(f"readme_tables: error: {e}; run bash scripts/demo.sh first", file=sys.stderr)
        return 1
    blocks = {
        ROOT / "README.md": {"brain_summary": summary_table(embedded, unseen)},
        BUNDLE_README: {
            "brain_unseen": overall_table(unseen),
            "brain_unseen_kinds": kinds_table(unseen),
            "brain_embedded": overall_table(embedded),
        },
    }
    stale = []
    for path, tables in blocks.items():
        text = path.read_text(encoding="utf-8")
        new = text
        for name, table in tables.items():
            new = replace_block(new, name, table)
        if new != text:
            stale.append(path)
            if not args.check:
                path.write_text(new, encoding="utf-8")
    names = ", ".join(str(p.relative_to(ROOT)) for p in stale)
    if not stale:
        print(f"the README tables match {run}")
    else:
        print(f"{names} {'differ from' if args.check else 'updated from'} {run}")
    return 1 if args.check and stale else 0


if __name__ == "__main__":
    sys.exit(main())
