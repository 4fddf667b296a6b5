"""One CaseReport for 3-D volumes and 2-D images: flags at the calibrated threshold, counts, files and columns."""

import csv

import nibabel as nib
import numpy as np
import pytest
import torch
from ignite.engine import Engine

from medmonai.handlers import CASE_COLUMNS, IMAGE_CASE_COLUMNS, CaseReport, lesion_summary
from medmonai.handlers.case_report import region_summary
from medmonai.keys import Keys
from medmonai.scoring import MapPostprocessor, calibrate

SHAPE = (12, 12, 8)
AFFINE = np.diag([2.0, 2.0, 2.0, 1.0])  # 8 mm³ voxels


def volume_case(name, hot):
    """A flat map (0.1) with the ``hot`` box at 5.0, everything in the region."""
    anomaly_map = np.full(SHAPE, 0.1, np.float32)
    anomaly_map[hot] = 5.0
    return {
        "case_id": name,
        "source": f"/scans/{name}.mha",
        "region": np.ones(SHAPE, bool),
        "maps": {"ae": anomaly_map},
        "affine": AFFINE,
        Keys.IMAGE: np.random.default_rng(0).random(SHAPE).astype(np.float32),
        Keys.LABEL: None,
    }


def volume_engine(outputs):
    engine = Engine(lambda e, b: outputs[e.state.iteration - 1])
    engine.mappers, engine.postprocessor = {"ae": None}, MapPostprocessor(median_size=0)
    return engine


@pytest.fixture
def calibration():
    """Healthy maps of 0.1 everywhere; image scores (max) of 0..9: the image threshold is their 0.8 quantile."""
    healthy = [np.full(10, 0.1, np.float32) for _ in range(10)]
    settings = {"image_score": {"method": "max", "percentile": 99.0}}
    return calibrate("ae", healthy, np.arange(10.0), 0.01, 0.2, settings)


def read(path):
    with path.open(encoding="utf-8") as f:
        reader = csv.DictReader(f)
        return reader.fieldnames, {row["case_id"]: row for row in reader}


def test_volumes_are_flagged_counted_and_written_with_the_3d_columns(calibration, tmp_path):
    calibration = calibration.with_manual(image_threshold=1.0, voxel_threshold=1.0)
    two_lesions = (slice(1, 3), slice(1, 3), slice(1, 3))
    outputs = [volume_case("sick", two_lesions), volume_case("clean", (slice(0, 0),) * 3)]
    outputs[0]["maps"]["ae"][8:10, 8:10, 5:6] = 5.0  # a second, separate lesion of 4 voxels
    engine = volume_engine(outputs)
    unmapped = [{"case_id": "broken", Keys.IMAGE: "/scans/broken.mha", "reason": "brain extraction failed"}]
    CaseReport(calibration, tmp_path, unmapped=unmapped).attach(engine)
    engine.run(range(2), max_epochs=1)
    columns, rows = read(tmp_path / "cases.csv")
    assert tuple(columns) == CASE_COLUMNS
    assert rows["sick"]["abnormal"] == "1" and rows["clean"]["abnormal"] == "0"  # max 5.0 and 0.1 around 1.0
    assert rows["sick"]["lesion_count"] == "2" and float(rows["sick"]["lesion_volume_mm3"]) == (8 + 4) * 8.0
    assert rows["clean"]["lesion_count"] == "0" and rows["broken"]["status"] == "failed"
    assert rows["broken"]["reason"] == "brain extraction failed" and rows["sick"]["status"] == "mapped"
    seg = nib.load(tmp_path / rows["sick"]["segmentation"])
    assert seg.get_fdata().sum() == 12 and np.allclose(seg.affine, AFFINE)
    assert nib.load(tmp_path / rows["sick"]["brain_mask"]).get_fdata().all()
    assert (tmp_path / "overlays" / "sick.png").stat().st_size > 1000 and rows["clean"]["overlay"]
    page = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert page.index("sick") < page.index("clean") and "Not mapped (1)" in page


def test_a_method_the_evaluator_does_not_map_is_refused(calibration, tmp_path):
    engine = volume_engine([volume_case("a", (slice(0, 1),) * 3)])
    engine.mappers = {"ssad3d": None}
    CaseReport(calibration, tmp_path).attach(engine)
    with pytest.raises(Exception, match="CaseReport method 'ae' is not one of"):
        engine.run(range(1), max_epochs=1)
    assert not (tmp_path / "cases.csv").exists()


def test_images_keep_overlays_for_the_highest_scores_only(calibration, tmp_path):
    calibration = calibration.with_manual(image_threshold=2.5, voxel_threshold=0.05)
    image = torch.zeros(4, 1, 8, 8)
    recon = image.clone()
    recon[:, :, :2, :2] = 1.0  # mse 1.0 in a 2x2 corner of each image
    batch = {"image": image, "recon": recon, "score": torch.tensor([0.0, 3.0, 1.0, 4.0]), "set": ["t"] * 4}
    batch["index"] = torch.arange(4)
    engine = Engine(lambda e, b: {Keys.IMAGE: b["image"], Keys.RECON: b["recon"], "score": b["score"]})
    handler = CaseReport(calibration, tmp_path, score_key="score", id_keys=("source", "set", "index"), report_cases=2)
    handler.attach(engine)
    engine.run([batch], max_epochs=1)
    columns, rows = read(tmp_path / "cases.csv")
    assert tuple(columns) == IMAGE_CASE_COLUMNS and sorted(rows) == ["t_0", "t_1", "t_2", "t_3"]
    assert [rows[f"t_{i}"]["abnormal"] for i in range(4)] == ["0", "1", "0", "1"]
    assert {c for c, r in rows.items() if r["overlay"]} == {"t_1", "t_3"}  # the two highest scores
    assert all(r["region_count"] == "1" and r["region_pixels"] == "4" for r in rows.values())
    assert sorted(p.name for p in (tmp_path / "overlays").iterdir()) == ["t_1.png", "t_3.png"]
    assert (tmp_path / "maps" / "t_0_anomaly.tiff").is_file() and (tmp_path / "segmentations" / "t_0_seg.png").is_file()


def test_summaries_count_connected_components():
    seg = np.zeros((6, 6, 6), bool)
    seg[0, 0, 0] = seg[1, 1, 1] = True  # diagonal neighbours: one 26-connected lesion
    seg[4:6, 4:6, 4:6] = True
    assert lesion_summary(seg, np.diag([1.0, 2.0, 3.0, 1.0])) == (2, 10 * 6.0)
    assert region_summary(seg[:, :, 0]) == (1, 1) and region_summary(seg[:, :, 4]) == (1, 4)
