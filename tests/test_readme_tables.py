"""scripts/readme_tables.py: the READMEs' brain tables come from a run's metrics."""

import importlib.util

import pytest

from tests.conftest import REPO

spec = importlib.util.spec_from_file_location("readme_tables", REPO / "scripts" / "readme_tables.py")
readme_tables = importlib.util.module_from_spec(spec)
spec.loader.exec_module(readme_tables)

NAMES = (*readme_tables.OVERALL, *readme_tables.SAMPLE)


def fake_metrics():
    metrics = {}
    for i, method in enumerate(("intensity_threshold", "ssad3d")):
        metrics.update({f"{method}/{k}": 0.1 * (i + 1) for k in NAMES})
        for kind in readme_tables.KINDS:
            metrics[f"{method}/voxel_auroc_{kind}"], metrics[f"{method}/voxel_auprc_{kind}"] = 0.9, 0.05
    return metrics


def test_tables_hold_every_method_of_the_run_and_label_the_defaults():
    table = readme_tables.overall_table(fake_metrics()).splitlines()
    assert table[2] == "| intensity_threshold | " + " | ".join(["0.100"] * len(NAMES)) + " |"
    assert table[3].startswith("| ssad3d (default model) | 0.200")
    assert "| ssad3d (default model) | 0.900 (0.050) |" in readme_tables.kinds_table(fake_metrics())


def test_methods_come_in_report_order():
    metrics = {f"{m}/voxel_auroc": 0.5 for m in ("ssad3d|intensity", "ae3d~z", "ssad3d", "intensity_threshold", "ae3d")}
    assert readme_tables.methods(metrics) == ["intensity_threshold", "ae3d", "ssad3d", "ae3d~z", "ssad3d|intensity"]


def test_only_the_marked_block_is_replaced():
    text = "before\n<!-- tables:x -->\n| old |\n<!-- /tables -->\nafter\n"
    assert readme_tables.replace_block(text, "x", "| new |") == text.replace("| old |", "| new |")
    with pytest.raises(SystemExit, match="no <!-- tables:y --> block"):
        readme_tables.replace_block(text, "y", "| new |")


def test_the_readmes_carry_every_block():
    assert "<!-- tables:brain_summary -->" in (REPO / "README.md").read_text(encoding="utf-8")
    bundle = readme_tables.BUNDLE_README.read_text(encoding="utf-8")
    for name in ("brain_unseen", "brain_unseen_kinds", "brain_embedded"):
        assert f"<!-- tables:{name} -->" in bundle
