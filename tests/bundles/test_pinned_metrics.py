"""Every bundle's embedded-default metrics, with tiny settings, equal the pinned ones (scripts/pin_metrics.py)."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from tests.conftest import REPO

_spec = importlib.util.spec_from_file_location("pin_metrics", REPO / "scripts" / "pin_metrics.py")
pin_metrics = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(pin_metrics)
PINNED = json.loads(Path(__file__).with_name("pinned_metrics.json").read_text(encoding="utf-8"))


def test_every_bundle_is_pinned():
    assert sorted(PINNED) == sorted(pin_metrics.RUNS) and all(PINNED.values())


@pytest.mark.parametrize("bundle", sorted(PINNED))
def test_metrics_match_the_pinned_ones(bundle, tmp_path):
    measured = pin_metrics.bundle_metrics(bundle, tmp_path / "out", tmp_path / "cache")
    assert sorted(measured) == sorted(PINNED[bundle])
    # same code, same seeds: equal to float noise; the tolerance only absorbs other CPUs' arithmetic
    changed = {k: (v, measured[k]) for k, v in PINNED[bundle].items() if measured[k] != pytest.approx(v, abs=1e-4)}
    assert not changed, f"{bundle}: metrics moved (pinned, measured): {changed}"
