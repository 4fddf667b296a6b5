import logging

import numpy as np
import pytest
import SimpleITK as sitk

from medmonai.data.readers.isles import isles_datalist, read_header
from medmonai.errors import DataError

MODALITIES = ("DWI", "Flair", "T1", "T2")


def _volume(size=(12, 10, 8), spacing=(1.0, 1.0, 2.0), value=100.0, dtype=sitk.sitkFloat32):
    array = np.full(size[::-1], value, np.float32)
    image = sitk.Cast(sitk.GetImageFromArray(array), dtype)
    image.SetSpacing(spacing)
    return image


def write_case(root, case, suffix=".mha", modalities=MODALITIES, mask_size=(12, 10, 8), compress=False):
    """One SISS case in the real folder layout, e.g. 1/VSD.Brain.XX.O.MR_DWI.70613/VSD...70613.mha."""
    case_dir = root / str(case)
    for i, mod in enumerate(modalities):
        name = f"VSD.Brain.XX.O.MR_{mod}.{70000 + 10 * int(case) + i}"
        (case_dir / name).mkdir(parents=True)
        sitk.WriteImage(_volume(), str(case_dir / name / f"{name}{suffix}"), compress)
    name = f"VSD.Brain_3more.XX.O.OT.{70000 + 10 * int(case) + 9}"
    (case_dir / name).mkdir(parents=True)
    sitk.WriteImage(_volume(mask_size, value=1, dtype=sitk.sitkUInt8), str(case_dir / name / f"{name}{suffix}"))
    return case_dir


@pytest.mark.parametrize("suffix", [".mha", ".nii", ".nii.gz"])
def test_reads_the_siss_layout(tmp_path, suffix):
    for case in (10, 2, 1):
        write_case(tmp_path, case, suffix)
    datalist = isles_datalist(tmp_path, modalities=("dwi", "flair"))
    assert [d["case_id"] for d in datalist] == ["1", "2", "10"]  # numeric order
    first = datalist[0]
    assert set(first) == {"case_id", "dwi", "flair", "label"}
    assert ".MR_DWI." in first["dwi"] and ".MR_Flair." in first["flair"] and ".OT." in first["label"]
    assert first["dwi"].endswith(suffix)


def test_case_without_dwi(tmp_path):
    write_case(tmp_path, 1)
    write_case(tmp_path, 2, modalities=("Flair", "T1", "T2"))
    with pytest.raises(DataError, match=r"2: no MR_DWI image; expected <case>/VSD.Brain.XX.O.MR_"):
        isles_datalist(tmp_path)


def test_skip_invalid_cases_logs_and_counts(tmp_path, caplog):
    write_case(tmp_path, 1)
    write_case(tmp_path, 2, modalities=("T1",))
    with caplog.at_level(logging.WARNING):
        datalist = isles_datalist(tmp_path, skip_invalid_cases=True)
    assert [d["case_id"] for d in datalist] == ["1"]
    assert "skipped 1 of 2 ISLES cases" in caplog.text and "no MR_DWI image" in caplog.text


def test_mask_shape_differs(tmp_path):
    write_case(tmp_path, 1, mask_size=(12, 10, 9))
    with pytest.raises(DataError, match=r"O\.OT\.70019\.mha: size \(12, 10, 9\) differs from .*MR_DWI.* \(12, 10, 8\)"):
        isles_datalist(tmp_path)


def test_missing_mask(tmp_path):
    case_dir = write_case(tmp_path, 1)
    for path in case_dir.glob("*.OT.*/*"):
        path.unlink()
    with pytest.raises(DataError, match=r"1: no lesion mask \(a folder whose name contains '\.OT\.'\)"):
        isles_datalist(tmp_path)


def test_truncated_mha(tmp_path):
    case_dir = write_case(tmp_path, 1)
    dwi = next(case_dir.glob("*MR_DWI*/*.mha"))
    dwi.write_bytes(dwi.read_bytes()[:-100])
    with pytest.raises(DataError, match=r"MR_DWI.*\.mha: truncated voxel data \(needs 3840 bytes, has 3740\)"):
        isles_datalist(tmp_path)


def test_mha_with_missing_raw_file(tmp_path):
    case_dir = write_case(tmp_path, 1)
    dwi = next(case_dir.glob("*MR_DWI*/*.mha"))
    header = dwi.read_bytes().split(b"ElementDataFile")[0] + b"ElementDataFile = dwi.raw\n"
    dwi.write_bytes(header)
    with pytest.raises(DataError, match=r"\.mha: its raw data file dwi\.raw is missing"):
        isles_datalist(tmp_path)


def test_four_d_file(tmp_path):
    path = tmp_path / "vol.nii.gz"
    sitk.WriteImage(sitk.JoinSeries([_volume(), _volume()]), str(path))
    with pytest.raises(DataError, match=r"vol\.nii\.gz: expected a 3-D volume, got 4-D"):
        read_header(path)


def test_empty_dataset_dir(tmp_path):
    with pytest.raises(DataError, match="no case folders"):
        isles_datalist(tmp_path)
    with pytest.raises(DataError, match="does not exist"):
        isles_datalist(tmp_path / "missing")


def test_unknown_modality(tmp_path):
    with pytest.raises(ValueError, match=r"modalities must be a non-empty subset of \['dwi', 'flair', 't1', 't2'\]"):
        isles_datalist(tmp_path, modalities=("adc",))
