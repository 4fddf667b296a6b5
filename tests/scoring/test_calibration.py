"""A calibration fixes thresholds on healthy values only, round-trips through thresholds.json, and guards settings."""

import json

import numpy as np
import pytest

from medmonai.errors import ConfigError
from medmonai.scoring import threshold_at_fpr
from medmonai.scoring.calibration import Calibration, calibrate, load_calibration
from medmonai.scoring.postprocess import MapPostprocessor
from medmonai.scoring.thresholds import threshold_at_fp_volume

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
    cal = calibrate("ssad3d", values, scores, voxel_fpr=0.01, image_fpr=0.5, settings=SETTINGS)
    assert cal.voxel_threshold == threshold_at_fpr(np.concatenate(values), 0.01)
    assert np.mean(np.concatenate(values) > cal.voxel_threshold) == pytest.approx(0.01, abs=1e-3)
    assert cal.image_threshold == pytest.approx(0.25)
    assert cal.display_max >= 1.25 * cal.voxel_threshold and cal.n_healthy_volumes == 4


def test_round_trip_and_guards(tmp_path):
    values, scores = healthy()
    cal = calibrate("ssad3d", values, scores, 0.01, 0.05, SETTINGS)
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


# the image threshold is the (1 - target_fpr) quantile of the healthy image scores; flagged: the share above it
TARGET_FPR = {
    "five_percent": {"scores": np.arange(101.0), "fpr": 0.05, "threshold": 95.0, "flagged": 5 / 101},  # 0..100
    "half": {"scores": np.arange(101.0), "fpr": 0.5, "threshold": 50.0, "flagged": 50 / 101},  # the median
    "interpolated": {"scores": [0.0, 1.0], "fpr": 0.25, "threshold": 0.75, "flagged": 0.5},  # two volumes: linear
}


@pytest.mark.parametrize("case", TARGET_FPR.values(), ids=TARGET_FPR.keys())
def test_target_fpr_gives_the_quantile_of_healthy_image_scores(case):
    values = [np.zeros(10, np.float32)] * len(case["scores"])
    cal = calibrate("ae3d", values, case["scores"], voxel_fpr=0.01, image_fpr=case["fpr"])
    assert cal.image_threshold == pytest.approx(case["threshold"])
    assert cal.image_fpr == case["fpr"]
    assert np.mean(np.asarray(case["scores"]) > cal.image_threshold) == pytest.approx(case["flagged"])


# a rate outside (0, 1) is refused, naming the config id
BAD_RATES = {
    "zero": {"voxel_fpr": 0.01, "image_fpr": 0.0, "message": r"target_fpr must be in \(0, 1\), got 0.0"},
    "one": {"voxel_fpr": 0.01, "image_fpr": 1, "message": r"target_fpr must be in \(0, 1\), got 1"},
    "percent_not_rate": {"voxel_fpr": 0.01, "image_fpr": 95.0, "message": r"target_fpr must be .*, got 95.0"},
    "text": {"voxel_fpr": 0.01, "image_fpr": "0.05", "message": r"target_fpr must be .*, got '0.05'"},
    "voxel": {"voxel_fpr": -0.1, "image_fpr": 0.05, "message": r"voxel_fpr must be in \(0, 1\), got -0.1"},
}


@pytest.mark.parametrize("case", BAD_RATES.values(), ids=BAD_RATES.keys())
def test_a_rate_outside_zero_one_is_refused(case):
    values, scores = healthy()
    with pytest.raises(ConfigError, match=case["message"]):
        calibrate("ssad3d", values, scores, case["voxel_fpr"], case["image_fpr"])


def test_thresholds_json_states_the_rule_of_each_threshold(tmp_path):
    values, scores = healthy()
    cal = calibrate("ssad3d", values, scores, 0.01, 0.05, SETTINGS)
    content = json.loads(cal.to_json())
    assert content["image_fpr"] == 0.05 and content["unit"] == "volumes" and "replaced" not in content
    assert content["rules"] == {
        "image_threshold": "fpr 0.05 on 4 healthy volumes: the 0.95 quantile of their image scores",
        "voxel_threshold": "fpr 0.01 on the voxels of 4 healthy volumes: the 0.99 quantile of their voxel values",
    }
    images = calibrate("vae", values[:1], scores[:1], 0.01, 0.2, unit="images")
    assert images.source("image") == "calibrated: fpr 0.2 on 1 healthy image"
    assert images.source("voxel") == "calibrated: fpr 0.01 on the pixels of 1 healthy image"
    with pytest.raises(ConfigError, match=r"unit must be one of \('volumes', 'images'\), got 'slices'"):
        calibrate("vae", values, scores, 0.01, 0.05, unit="slices")


def test_an_earlier_release_s_percentile_reads_as_its_rate(tmp_path):
    values, scores = healthy()
    earlier = json.loads(calibrate("ssad3d", values, scores, 0.01, 0.05).to_json())
    for key in ("image_fpr", "rules", "unit"):
        del earlier[key]
    path = tmp_path / "thresholds.json"
    path.write_text(json.dumps({**earlier, "image_percentile": 95.0}))
    cal = Calibration.load(path)
    assert cal.image_fpr == 0.05 and cal.source("image") == "calibrated: fpr 0.05 on 4 healthy volumes"


def test_manual_thresholds_replace_the_calibrated_ones(tmp_path):
    values, scores = healthy()
    cal = calibrate("ssad3d", values, scores, 0.01, 0.05, SETTINGS)
    path = tmp_path / "thresholds.json"
    path.write_bytes(cal.to_json())
    assert load_calibration(path, "ssad3d", image_threshold=None, voxel_threshold="null") == cal  # none set
    manual = load_calibration(path, "ssad3d", image_threshold=0.35, voxel_threshold=5)
    assert (manual.image_threshold, manual.voxel_threshold) == (0.35, 5.0)
    assert manual.source("image") == manual.source("voxel") == "manual"
    assert manual.replaced == {"image": cal.image_threshold, "voxel": cal.voxel_threshold}
    assert manual.display_max >= 1.25 * 5.0  # the overlays' colour scale still reaches above the threshold
    image_only = cal.with_manual(image_threshold=0.1)
    assert image_only.voxel_threshold == cal.voxel_threshold and image_only.display_max == cal.display_max
    assert image_only.source("voxel") == "calibrated: fpr 0.01 on the voxels of 4 healthy volumes"
    with pytest.raises(ConfigError, match=r"image threshold set by hand: thresholds.json holds calibrated ones"):
        image_only.to_json()


@pytest.mark.parametrize("value", ["high", float("nan"), float("inf"), True, [0.5]])
def test_a_bad_manual_threshold_is_refused_naming_its_id(value):
    values, scores = healthy()
    volumes = calibrate("ssad3d", values, scores, 0.01, 0.05)
    with pytest.raises(ConfigError, match=r"^voxel_threshold must be a finite number or null, got "):
        volumes.with_manual(voxel_threshold=value)
    images = calibrate("vae", values, scores, 0.01, 0.05, unit="images")
    with pytest.raises(ConfigError, match=r"^pixel_threshold must be a finite number or null, got "):
        images.with_manual(voxel_threshold=value)
    with pytest.raises(ConfigError, match=r"^image_threshold must be a finite number or null, got "):
        images.with_manual(image_threshold=value)


def healthy_volumes(seed=0, n=3):
    """Noise volumes with one bright blob each (a healthy structure the map dislikes), 8 mm³ voxels."""
    rng = np.random.default_rng(seed)
    volumes = []
    for i in range(n):
        anomaly_map = rng.random((24, 24, 24)).astype(np.float32)
        anomaly_map[4 : 8 + i, 4:8, 4:8] += 1.0 + 0.1 * i  # 64-112 voxels: 0.5-0.9 ml at 8 mm³
        volumes.append((anomaly_map, np.ones(anomaly_map.shape, bool), 0.008))
    return volumes


@pytest.mark.parametrize("max_fp_ml", [0.3, 0.6, 2.0])
def test_a_false_positive_volume_threshold_is_the_lowest_that_keeps_every_healthy_volume_under_it(max_fp_ml):
    postprocessor = MapPostprocessor(median_size=0, min_component_size=10)
    volumes = healthy_volumes()
    values = [m[r] for m, r, _ in volumes]
    cal = calibrate(
        "ssad3d", values, [0.1, 0.2, 0.3], 0.01, 0.5, SETTINGS, "volumes", max_fp_ml, volumes, postprocessor.segment
    )

    def worst_ml(threshold):
        return max(postprocessor.segment(m, r, threshold).sum() * ml for m, r, ml in volumes)

    assert worst_ml(cal.voxel_threshold) <= max_fp_ml
    below = max(v[v < cal.voxel_threshold].max() for v in values)  # the next healthy value down breaks the rule
    assert worst_ml(below) > max_fp_ml
    assert cal.max_fp_ml == max_fp_ml
    assert cal.voxel_fpr == pytest.approx(np.mean(np.concatenate(values) > cal.voxel_threshold))
    assert cal.rule("voxel") == f"at most {max_fp_ml:g} ml segmented in each of 3 healthy volumes"


def test_a_false_positive_volume_calibration_round_trips_and_states_its_rule(tmp_path):
    volumes = healthy_volumes()
    segment = MapPostprocessor(median_size=0, min_component_size=10).segment
    values = [m[r] for m, r, _ in volumes]
    cal = calibrate("ssad3d", values, [0.1, 0.2, 0.3], 0.01, 0.5, SETTINGS, "volumes", 1.0, volumes, segment)
    path = tmp_path / "thresholds.json"
    path.write_bytes(cal.to_json())
    assert Calibration.load(path, "ssad3d", SETTINGS) == cal
    rule = json.loads(path.read_text())["rules"]["voxel_threshold"]
    assert rule.startswith("at most 1 ml segmented in each of 3 healthy volumes: the lowest such threshold")
    with pytest.raises(ConfigError, match="needs the healthy volumes"):
        calibrate("ssad3d", values, [0.1, 0.2, 0.3], 0.01, 0.5, SETTINGS, "volumes", 1.0)


@pytest.mark.parametrize("value", [0, -1.0, float("nan"), True, "2"])
def test_a_false_positive_volume_that_is_not_a_positive_number_is_refused(value):
    volumes = healthy_volumes()
    with pytest.raises(ConfigError, match="max_fp_ml must be a positive number of ml"):
        threshold_at_fp_volume(*zip(*volumes, strict=True), value, MapPostprocessor().segment)
