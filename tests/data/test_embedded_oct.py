"""The embedded synthetic OCT default: procedural B-scans in the Kermany OCT2017 layout."""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy import ndimage

from medmonai.data import embedded_oct, kermany_datalists
from medmonai.data.synthetic.retina import OCT_CLASSES, random_anatomy, retina_bscan
from medmonai.errors import ConfigError


def test_scans_are_deterministic_per_seed():
    a, b = (retina_bscan("DME", np.random.default_rng(3)) for _ in range(2))
    c = retina_bscan("DME", np.random.default_rng(4))
    assert a.dtype == np.uint8 and a.shape == (240, 320)
    assert np.array_equal(a, b) and not np.array_equal(a, c)


@pytest.mark.parametrize("finding", OCT_CLASSES[1:])
def test_each_finding_changes_the_retina_and_nothing_above_it(finding):
    anatomy = random_anatomy(np.random.default_rng(0))
    # the same seed draws the same scan position and geometry; the finding then changes the retina
    normal, sick = (
        ndimage.gaussian_filter(retina_bscan(f, np.random.default_rng(7), anatomy).astype(float), 3)
        for f in ("NORMAL", finding)
    )
    change = np.abs(sick - normal)
    assert change.max() > 30  # gray levels: a visible finding
    rows = np.nonzero(change.max(1) > 30)[0]
    retina_rows = np.nonzero(normal.max(1) > 60)[0]
    assert rows.min() >= retina_rows.min() - 25  # it lies in or just above the retina, not in the vitreous
    with pytest.raises(ValueError, match="finding must be one of"):
        retina_bscan("AMD", np.random.default_rng(0))


def test_the_embedded_tree_is_read_like_the_real_one(tmp_path):
    root = embedded_oct(tmp_path, normal_patients=3, test_patients=2, scans_per_patient=2)
    assert root.name == "OCT2017" and json.loads((root.parent / "generation.json").read_text())["synthetic"]
    assert embedded_oct(tmp_path, normal_patients=3, test_patients=2, scans_per_patient=2) == root  # cached
    lists = kermany_datalists(root, val_fraction=0.34)
    assert len(lists["train"]) + len(lists["val"]) == 6
    assert not {i["patient"] for i in lists["train"]} & {i["patient"] for i in lists["val"]}
    assert sorted(i["class"] for i in lists["test"]) == sorted([c for c in OCT_CLASSES for _ in range(4)])
    with pytest.raises(ConfigError, match="normal_patients >= 2"):
        embedded_oct(tmp_path, normal_patients=1)
