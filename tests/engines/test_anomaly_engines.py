"""The anomaly evaluator, map writer and evaluation protocol on small synthetic volumes."""

import json
import re

import nibabel as nib
import numpy as np
import pytest
import SimpleITK as sitk
from monai.data import DataLoader, Dataset
from monai.transforms import Compose

from medmonai.engines import AnomalyEvaluation, AnomalyMapEvaluator
from medmonai.errors import DataError, find_user_error
from medmonai.handlers import MapWriter
from medmonai.scoring import IntensityScore, MapPostprocessor, SlidingWindowMapper
from medmonai.transforms import LoadVolumed, SimpleITKNormalized

AFFINE = np.array([[-2.0, 0, 0, 90], [0, 2.0, 0, -126], [0, 0, 2.0, -72], [0, 0, 0, 1]])
SHAPE = (20, 18, 16)


def write(path, data, affine=AFFINE):
    if str(path).endswith(".mha"):
        nib.save(nib.Nifti1Image(data, affine), str(path).replace(".mha", ".nii"))
        sitk.WriteImage(sitk.ReadImage(str(path).replace(".mha", ".nii")), str(path))
    else:
        nib.save(nib.Nifti1Image(data, affine), str(path))
    return str(path)


def volume(tmp_path, name, lesion=False, seed=0, suffix=".nii.gz"):
    rng = np.random.default_rng(seed)
    image = 100 + 10 * rng.random(SHAPE).astype(np.float32)
    label = np.zeros(SHAPE, np.uint8)
    if lesion:
        label[8:10, 8:10, 6:8] = 1  # under 1% of the brain, so the 99th percentile stays healthy
        image[label > 0] += 40
    item = {"image": write(tmp_path / f"{name}{suffix}", image), "case_id": name}
    item["brain_mask"] = write(tmp_path / f"{name}_mask{suffix}", np.ones(SHAPE, np.uint8))
    item["label"] = write(tmp_path / f"{name}_label{suffix}", label)
    return item


def evaluator(items, handlers=()):
    transforms = Compose(
        [
            LoadVolumed(["image", "brain_mask", "label"], allow_missing_keys=True),
            SimpleITKNormalized("image", mask_key="brain_mask", foreground="nonzero", clip=False),
        ]
    )
    loader = DataLoader(Dataset(items, transforms), batch_size=1)
    mappers = {"intensity": SlidingWindowMapper(IntensityScore(), (8, 8, 8))}
    post = MapPostprocessor(median_size=0)
    return AnomalyMapEvaluator("cpu", loader, mappers, post, val_handlers=list(handlers))


@pytest.mark.parametrize("suffix", [".nii.gz", ".mha"])
def test_written_maps_keep_the_input_affine(tmp_path, suffix):
    items = [volume(tmp_path, "case1", lesion=True, suffix=suffix)]
    writer = MapWriter("intensity", tmp_path / "out" / "maps", tmp_path / "out" / "overlays")
    evaluator(items, [writer]).run()
    written = nib.load(tmp_path / "out" / "maps" / "case1_anomaly.nii.gz")
    assert np.allclose(written.affine, AFFINE, atol=1e-4)
    assert written.shape == SHAPE and written.get_fdata().max() > 0
    assert (tmp_path / "out" / "overlays" / "case1.png").stat().st_size > 1000
    assert [p.name for p in (tmp_path / "out").iterdir() if p.name.startswith(".")] == []  # staging removed


def test_a_failing_volume_leaves_no_partial_maps(tmp_path):
    items = [volume(tmp_path, "good", lesion=True), volume(tmp_path, "bad")]
    bad = nib.load(items[1]["image"]).get_fdata().astype(np.float32)
    bad[0, 0, 0] = np.nan
    write(items[1]["image"], bad)
    writer = MapWriter("intensity", tmp_path / "out" / "maps")
    with pytest.raises(RuntimeError) as info:  # MONAI wraps transform errors; the CLI prints ours in one line
        evaluator(items, [writer]).run()
    assert re.search(r"bad\.nii\.gz: volume holds NaN or infinite values", str(find_user_error(info.value)))
    assert not (tmp_path / "out" / "maps").exists()
    assert list((tmp_path / "out").iterdir()) == []


def protocol(tmp_path, val, test, out):
    return AnomalyEvaluation(evaluator(val), evaluator(test), out, voxel_fpr=0.05, image_score_method="max")


def test_protocol_metrics_and_report(tmp_path):
    val = [volume(tmp_path, f"val{i}", seed=10 + i) for i in range(2)]
    test = [volume(tmp_path, "les", lesion=True, seed=1), volume(tmp_path, "hea", seed=2)]
    metrics = protocol(tmp_path, val, test, tmp_path / "out").run()
    assert metrics["intensity/voxel_auroc"] == pytest.approx(1.0)  # lesions are 40 brighter than any noise
    assert metrics["intensity/sample_auroc"] == pytest.approx(1.0)
    assert metrics["intensity/lesion_detection_rate"] == 1.0
    assert 0.0 < metrics["intensity/dice_at_threshold"] <= metrics["intensity/dice_oracle"] == pytest.approx(1.0)
    assert json.loads((tmp_path / "out" / "metrics.json").read_text())["intensity/voxel_auprc"] == pytest.approx(1.0)
    table = (tmp_path / "out" / "comparison.md").read_text()
    assert "| intensity | 1.000 | 1.000 |" in table and "## Lesion kind: lesion" in table
    assert (tmp_path / "out" / "roc_pr.png").stat().st_size > 1000


def test_groups_get_the_metrics_of_their_volumes_alone_and_healthy_false_positive_volumes(tmp_path):
    val = [volume(tmp_path, f"val{i}", seed=10 + i) for i in range(2)]
    test = [volume(tmp_path, "les", lesion=True, seed=1), volume(tmp_path, "hea", seed=2)]
    test += [volume(tmp_path, "les2", lesion=True, seed=3), volume(tmp_path, "hea2", seed=4)]
    hot = nib.load(test[3]["image"]).get_fdata().astype(np.float32)
    hot[2:5, 2:5, 2:5] += 40  # a bright spot in a healthy volume: a false positive
    write(test[3]["image"], hot)
    for item, group in zip(test, ["a", "a", "b", "b"], strict=True):
        item["group"] = group
    metrics = protocol(tmp_path, val, test, tmp_path / "out").run()
    by_group = json.loads((tmp_path / "out" / "metrics_by_group.json").read_text())
    assert sorted(by_group) == ["a", "b"]
    for group, items in (("a", test[:2]), ("b", test[2:])):  # the same thresholds, so the same numbers
        alone = protocol(tmp_path, val, [{k: v for k, v in i.items() if k != "group"} for i in items], tmp_path / group)
        assert by_group[group] == pytest.approx({k: alone.run()[k] for k in by_group[group]}, nan_ok=True)
        assert not (tmp_path / group / "metrics_by_group.json").exists()  # no groups, no per-group file
    fp_ml = {g: by_group[g]["intensity/healthy_fp_ml"] for g in by_group}
    assert all(abs(v / 0.008 - round(v / 0.008)) < 1e-6 for v in fp_ml.values())  # whole 2 mm voxels
    assert 1.0 < fp_ml["a"] < 4.0  # noise above the healthy 95th percentile (voxel_fpr 0.05): about 2.3 ml
    assert metrics["intensity/healthy_fp_ml"] == pytest.approx((fp_ml["a"] + fp_ml["b"]) / 2)


def test_a_test_set_without_lesions_is_refused_before_anything_runs(tmp_path):
    val = [volume(tmp_path, f"val{i}", seed=10 + i) for i in range(2)]
    test = [volume(tmp_path, f"hea{i}", seed=i) for i in range(5)]  # labels all zero
    with pytest.raises(DataError, match=r"no lesion voxel in any of its 5 labels \(hea0_label.nii.gz, hea1_label"):
        protocol(tmp_path, val, test, tmp_path / "out").run()
    assert not (tmp_path / "out").exists()


def test_thresholds_come_from_healthy_validation_volumes_only(tmp_path):
    val = [volume(tmp_path, f"val{i}", seed=10 + i) for i in range(2)]
    test = [volume(tmp_path, "les", lesion=True, seed=1), volume(tmp_path, "hea", seed=2)]
    first = protocol(tmp_path, val, test, tmp_path / "a").run()
    # relabel the test set: the whole lesion volume is now "lesion"
    write(test[0]["label"], np.ones(SHAPE, np.uint8))
    second = protocol(tmp_path, val, test, tmp_path / "b").run()
    for key in ("intensity/voxel_threshold", "intensity/image_threshold"):
        assert first[key] == second[key]
    assert first["intensity/dice_at_threshold"] != second["intensity/dice_at_threshold"]
    # while changing the healthy validation data does move them
    brighter = nib.load(val[0]["image"]).get_fdata().astype(np.float32)
    brighter[:10] += 30
    write(val[0]["image"], brighter)
    third = protocol(tmp_path, val, test, tmp_path / "c").run()
    assert third["intensity/voxel_threshold"] != first["intensity/voxel_threshold"]


def test_loader_must_give_one_volume_per_batch(tmp_path):
    loader = DataLoader(Dataset([volume(tmp_path, "a")]), batch_size=2)
    with pytest.raises(ValueError, match="AnomalyMapEvaluator needs batch_size 1, got 2"):
        AnomalyMapEvaluator("cpu", loader, {}, MapPostprocessor())
