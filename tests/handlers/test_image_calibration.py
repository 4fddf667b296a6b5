"""2-D calibration at a target false-positive rate, and cases.csv recording each threshold and where it came from."""

import csv
import json

import numpy as np
import pytest
import torch
from ignite.engine import Engine

from medmonai.errors import ConfigError
from medmonai.handlers import IMAGE_CASE_COLUMNS, CaseReport, ImageCalibrationWriter
from medmonai.keys import Keys
from medmonai.scoring import Calibration, threshold_at_fpr

# the columns cases.csv had before thresholds were recorded, in their order
EARLIER_COLUMNS = ("case_id", "source", "image_score", "image_threshold", "abnormal", "region_count", "region_pixels")
THRESHOLD_COLUMNS = ("image_threshold_source", "pixel_threshold", "pixel_threshold_source")


def batches(scores, per_batch=5, size=8):
    """Batches of flat grey images reconstructed with error ``0.1 * i`` in image i's top-left quarter."""
    out = []
    for start in range(0, len(scores), per_batch):
        chunk = scores[start : start + per_batch]
        image = torch.full((len(chunk), 1, size, size), 0.5)
        recon = image.clone()
        for i in range(len(chunk)):
            recon[i, :, : size // 2, : size // 2] += 0.1 * (start + i)
        sources = [f"/scans/img_{start + i}.png" for i in range(len(chunk))]
        out.append({"image": image, "recon": recon, "score": torch.as_tensor(chunk), "source": sources})
    return out


def run(handler, data):
    engine = Engine(lambda e, b: {Keys.IMAGE: b["image"], Keys.RECON: b["recon"], "score": b["score"]})
    handler.attach(engine)
    engine.run(data, max_epochs=1)
    return engine


@pytest.fixture
def calibration(tmp_path):
    """Calibrated at target_fpr 0.2 on 10 healthy images with scores 0..9."""
    path = tmp_path / "thresholds.json"
    writer = ImageCalibrationWriter(path, "vae", "score", "mse", pixel_fpr=0.1, target_fpr=0.2)
    run(writer, batches(np.arange(10.0)))
    return Calibration.load(path, "vae")


def test_the_image_threshold_is_the_quantile_at_the_target_fpr(calibration, tmp_path):
    assert calibration.image_threshold == pytest.approx(np.quantile(np.arange(10.0), 0.8))  # 7.2
    assert calibration.n_healthy_volumes == 10 and calibration.unit == "images"  # images, not batches
    pixels = np.concatenate([np.r_[np.full(16, (0.1 * i) ** 2), np.zeros(48)] for i in range(10)])  # mse maps
    assert calibration.voxel_threshold == pytest.approx(threshold_at_fpr(pixels, 0.1), rel=1e-5)
    rules = json.loads((tmp_path / "thresholds.json").read_text(encoding="utf-8"))["rules"]
    assert rules["image_threshold"] == "fpr 0.2 on 10 healthy images: the 0.8 quantile of their image scores"
    assert rules["voxel_threshold"].startswith("fpr 0.1 on the pixels of 10 healthy images")


@pytest.mark.parametrize("rates, message", [({"target_fpr": 5.0}, "target_fpr"), ({"pixel_fpr": 0}, "pixel_fpr")])
def test_a_rate_outside_zero_one_is_refused_before_anything_runs(tmp_path, rates, message):
    with pytest.raises(ConfigError, match=rf"^{message} must be in \(0, 1\), got "):
        ImageCalibrationWriter(tmp_path / "thresholds.json", "vae", "score", "mse", **rates)
    assert not (tmp_path / "thresholds.json").exists()


def read_cases(folder):
    with (folder / "cases.csv").open(encoding="utf-8") as f:
        reader = csv.DictReader(f)
        return reader.fieldnames, {row["case_id"]: row for row in reader}


def test_cases_record_the_calibrated_thresholds_and_their_rule(calibration, tmp_path):
    out = tmp_path / "calibrated"
    run(CaseReport(calibration, out, score_key="score", reconstruction="mse"), batches([1.0, 8.0]))
    columns, rows = read_cases(out)
    assert tuple(columns[: len(EARLIER_COLUMNS)]) == EARLIER_COLUMNS  # the earlier columns keep their order
    assert tuple(columns[-len(THRESHOLD_COLUMNS) :]) == THRESHOLD_COLUMNS == IMAGE_CASE_COLUMNS[-3:]
    for row in rows.values():
        assert row["image_threshold_source"] == "calibrated: fpr 0.2 on 10 healthy images"
        assert row["pixel_threshold_source"] == "calibrated: fpr 0.1 on the pixels of 10 healthy images"
        assert float(row["pixel_threshold"]) == pytest.approx(calibration.voxel_threshold, rel=1e-5)
    assert (rows["img_0"]["abnormal"], rows["img_1"]["abnormal"]) == ("0", "1")  # 1 and 8 around 7.2
    page = (out / "report.html").read_text(encoding="utf-8")
    assert "calibrated at fpr 0.2 on 10 healthy images" in page and "set by hand" not in page


def test_manual_thresholds_override_and_are_recorded_as_manual(calibration, tmp_path):
    out = tmp_path / "manual"
    manual = calibration.with_manual(image_threshold=0.5, voxel_threshold=1e-6)
    run(CaseReport(manual, out, score_key="score", reconstruction="mse"), batches([1.0, 8.0]))
    _, rows = read_cases(out)
    for row in rows.values():
        assert row["abnormal"] == "1"  # both above the manual 0.5, where the calibrated 7.2 flagged one
        assert float(row["image_threshold"]) == 0.5 and float(row["pixel_threshold"]) == 1e-6
        assert row["image_threshold_source"] == row["pixel_threshold_source"] == "manual"
    assert int(rows["img_1"]["region_pixels"]) == 16  # the whole erroneous quarter, above the manual threshold
    page = (out / "report.html").read_text(encoding="utf-8")
    assert page.count("<b>set by hand</b>") == 2
    assert f"the calibrated one, {calibration.image_threshold:.4g}, is at fpr 0.2 on 10 healthy images" in page
