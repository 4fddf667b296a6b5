"""A calibration fixes thresholds on healthy values only, round-trips through thresholds.json, and guards settings."""

import json

import numpy as np
import pytest

from medmonai.errors import ConfigError
from medmonai.scoring import threshold_at_fpr
from medmonai.scoring.calibration import Calibration, calibrate

SETTINGS = {
    "postprocessing": {"median_size": 3, "erode_iterations": 2},
    "window": {"roi_size": [32, 32, 32]},
    "preprocessing": {"input_standardisation": False},
}


def healthy():
    rng = np.random.default_rng(0)
    return [rng.random(1000).astype(np.float32) for _ in range(4)], [0.1, 0.2, 0.3, 0.4]


def test_thresholds_come_from_the_healthy_values():
    values, scores = healthy()
    cal = calibrate("ssad3d", values, scores, voxel_fpr=0.01, image_percentile=50.0, settings=SETTINGS)
    assert cal.voxel_threshold == threshold_at_fpr(np.concatenate(values), 0.01)
    assert np.mean(np.concatenate(values) > cal.voxel_threshold) == pytest.approx(0.01, abs=1e-3)
    assert cal.image_threshold == pytest.approx(0.25)
    assert cal.display_max >= 1.25 * cal.voxel_threshold and cal.n_healthy_volumes == 4


def test_round_trip_and_guards(tmp_path):
    values, scores = healthy()
    cal = calibrate("ssad3d", values, scores, 0.01, 95.0, SETTINGS)
    path = tmp_path / "thresholds.json"
    path.write_bytes(cal.to_json())
    assert Calibration.load(path, "ssad3d", SETTINGS) == cal
    assert Calibration.load(path, "ssad3d", {"preprocessing": {"input_standardisation": "false"}}) == cal  # CLI text
    with pytest.raises(ConfigError, match=r"calibrated for 'ssad3d', but this run uses 'ae3d'"):
        Calibration.load(path, "ae3d")
    changed = {**SETTINGS, "postprocessing": {"median_size": 0, "erode_iterations": 2}}
    with pytest.raises(ConfigError, match=r"postprocessing.median_size: calibrated 3, given 0"):
        Calibration.load(path, "ssad3d", changed)
    with pytest.raises(ConfigError, match=r"no calibration; run evaluate.yaml or calibrate.yaml"):
        Calibration.load(tmp_path / "missing.json")
    broken = json.loads(path.read_text(encoding="utf-8"))
    broken["voxel_threshold"] = "high"
    path.write_text(json.dumps(broken))
    with pytest.raises(ConfigError, match=r"thresholds.json: not a medmonai calibration"):
        Calibration.load(path)
