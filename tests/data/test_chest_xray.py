import logging
import shutil

import numpy as np
import pydicom
import pydicom.data
import pytest
from PIL import Image

from medmonai.data.readers.chest_xray import (
    CHEXPERT_OBSERVATIONS,
    chestxray14_manifest,
    chexpert_manifest,
    dicom_manifest,
)
from medmonai.data.splits import subject_split
from medmonai.errors import ConfigError, DataError

# the NIH header as released: "OriginalImage[Width,Height]" is split by its own comma, and a trailing comma
NIH_HEADER = (
    "Image Index,Finding Labels,Follow-up #,Patient ID,Patient Age,Patient Gender,View Position,"
    "OriginalImage[Width,Height],OriginalImagePixelSpacing[x,y],"
)
NIH_ROWS = [  # image, findings, follow-up, patient, age, sex, view, width, height, spacing x, y
    ("00000001_000.png", "Cardiomegaly", 0, 1, 58, "M", "PA", 2682, 2749, 0.143, 0.143),
    ("00000001_001.png", "Cardiomegaly|Emphysema", 1, 1, 58, "M", "PA", 2894, 2729, 0.143, 0.143),
    ("00000001_002.png", "Cardiomegaly|Effusion", 2, 1, 58, "M", "PA", 2500, 2048, 0.168, 0.168),
    ("00000002_000.png", "No Finding", 0, 2, 81, "M", "PA", 2500, 2048, 0.171, 0.171),
    ("00000003_000.png", "Hernia", 0, 3, 81, "F", "PA", 2582, 2991, 0.143, 0.143),
    ("00000004_000.png", "Mass|Nodule", 0, 4, 82, "M", "AP", 2500, 2048, 0.168, 0.168),
    ("00000005_000.png", "No Finding", 0, 5, 69, "F", "PA", 2048, 2500, 0.168, 0.168),
]


def _png(path, side=24):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.random.default_rng(side).integers(0, 255, (side, side), dtype=np.uint8)).save(path)


def write_nih(root, header=NIH_HEADER, rows=NIH_ROWS, nested=True, trailing=","):
    """Data_Entry_2017.csv plus PNGs split over images_001 and images_002, as the archives extract."""
    lines = [header] + [",".join(map(str, row)) + trailing for row in rows]
    root.mkdir(parents=True, exist_ok=True)
    (root / "Data_Entry_2017.csv").write_text("\n".join(lines) + "\n")
    for k, row in enumerate(rows):
        part = root / ("images_001" if k < 5 else "images_002")
        _png((part / "images" if nested else part) / row[0])
    return root


def test_nih_layout_keeps_one_image_per_patient(tmp_path):
    root = write_nih(tmp_path / "NIH")
    m = chestxray14_manifest(root)
    assert m.subject_ids.tolist() == ["1", "2", "3", "4", "5"] and m.source == root / "Data_Entry_2017.csv"
    assert m.row(0)["image"] == str(root / "images_001/images/00000001_000.png")
    assert m.row(3)["image"] == str(root / "images_002/images/00000004_000.png")
    assert m.covariate("age").tolist() == [58, 81, 81, 82, 69]
    assert m.covariate("sex").tolist() == [0, 0, 1, 0, 1] and m.covariate("view").tolist() == [0, 0, 0, 1, 0]
    assert m.covariate("cardiomegaly").tolist() == [1, 0, 0, 0, 0]
    assert m.covariate("emphysema").tolist() == [0, 0, 0, 0, 0]  # only on patient 1's second image
    assert m.covariate("mass").tolist() == m.covariate("nodule").tolist() == [0, 0, 0, 1, 0]
    assert m.covariate("no_finding").tolist() == [0, 1, 0, 0, 1] and m.covariate("hernia").tolist() == [0, 0, 1, 0, 0]
    assert m.covariate("original_height")[0] == 2749 and m.covariate("pixel_spacing_x")[3] == pytest.approx(0.168)
    assert m.strings("image_id")[4] == "00000005_000.png"
    assert m.validate(workers=2) == []  # every image is a readable 2-D PNG


def test_nih_every_image_keyed_by_name_and_split_by_patient(tmp_path):
    m = chestxray14_manifest(write_nih(tmp_path / "NIH"), one_per_subject=False)
    assert len(m) == 7 and m.subject_ids[:3].tolist() == ["00000001_000", "00000001_001", "00000001_002"]
    assert m.covariate("emphysema")[1] == 1 and m.covariate("follow_up").tolist() == [0, 1, 2, 0, 0, 0, 0]
    splits = subject_split(m.strings("patient"), seed=0)
    holding = [name for name, rows in splits.items() if set(rows) & {0, 1, 2}]
    assert len(holding) == 1  # patient 1's three images are never split apart


def test_nih_older_release_with_age_strings_and_flat_folders(tmp_path):
    header = NIH_HEADER.replace("Patient Gender", "Patient Sex").rstrip(",")
    rows = [(*r[:4], f"{r[4]:03d}Y", *r[5:]) for r in NIH_ROWS]
    rows[4] = (*rows[4][:4], "006M", *rows[4][5:])  # an infant: six months
    m = chestxray14_manifest(write_nih(tmp_path / "NIH", header, rows, nested=False, trailing=""))
    assert m.covariate("age").tolist() == [58, 81, 0.5, 82, 69]
    assert m.row(1)["image"] == str(tmp_path / "NIH/images_001/00000002_000.png")


def test_nih_images_not_on_disk_are_dropped_or_refused(tmp_path, caplog):
    root = write_nih(tmp_path / "NIH")
    (root / "images_001/images/00000002_000.png").unlink()
    with caplog.at_level(logging.WARNING):
        m = chestxray14_manifest(root)
    assert m.subject_ids.tolist() == ["1", "3", "4", "5"] and "1 of 7 listed images not on disk" in caplog.text
    with pytest.raises(
        DataError, match=r"Data_Entry_2017\.csv: 1 of 7 listed images .* first 00000002_000\.png \(row 4\)"
    ):
        chestxray14_manifest(root, missing_images="error")
    with pytest.raises(ConfigError, match="missing_images must be"):
        chestxray14_manifest(root, missing_images="keep")


@pytest.mark.parametrize(
    "change, match",
    [
        # an unknown finding: named with its row
        (("Hernia", "Hernia|Flu"), r"column 'Finding Labels', row 5: 'Flu' is not a ChestX-ray14 finding"),
        # a sex code that is neither M nor F
        (("81,F,PA", "81,X,PA"), r"column 'Patient Gender', row 5: 'X' is not one of"),
        # an age that is not one
        (("82,M,AP", "old,M,AP"), r"column 'Patient Age', row 6: 'old' is not an age"),
        # a column missing from the header
        (("Patient ID,", "Patient,"), r"Data_Entry_2017\.csv: no column 'Patient ID' \(expected the ChestX-ray14"),
    ],
)
def test_nih_bad_entries(tmp_path, change, match):
    root = write_nih(tmp_path / "NIH")
    entries = root / "Data_Entry_2017.csv"
    entries.write_text(entries.read_text().replace(*change))
    with pytest.raises(DataError, match=match):
        chestxray14_manifest(root)


def test_nih_without_data_entry_csv(tmp_path):
    root = write_nih(tmp_path / "NIH")
    (root / "Data_Entry_2017.csv").unlink()
    with pytest.raises(
        DataError, match=r"NIH: no Data_Entry_2017\.csv; expected .* found \['images_001', 'images_002'\]"
    ):
        chestxray14_manifest(root)
    with pytest.raises(DataError, match="ChestX-ray14 folder not found"):
        chestxray14_manifest(tmp_path / "nowhere")


CHEXPERT_ROWS = [  # path under train/, sex, age, frontal/lateral, AP/PA, {observation: value}
    ("patient00001/study1/view1_frontal.jpg", "Female", 68, "Frontal", "AP", {"No Finding": "1.0", "Pneumonia": ""}),
    ("patient00002/study2/view1_frontal.jpg", "Female", 87, "Frontal", "AP", {"Cardiomegaly": "-1.0", "Edema": "1.0"}),
    ("patient00002/study1/view1_frontal.jpg", "Female", 83, "Frontal", "AP", {"Cardiomegaly": "1.0"}),
    ("patient00002/study1/view2_lateral.jpg", "Female", 83, "Lateral", "", {"Cardiomegaly": "1.0"}),
    ("patient00003/study1/view1_frontal.jpg", "Male", 41, "Frontal", "AP", {"Edema": "1.0", "Pneumothorax": "0.0"}),
    ("patient00004/study1/view1_frontal.jpg", "Unknown", 20, "Frontal", "PA", {"No Finding": "1.0", "Edema": "0.0"}),
]


def write_chexpert(folder, prefix="CheXpert-v1.0-small/", rows=CHEXPERT_ROWS):
    """CheXpert-v1.0-small/train.csv and its JPEGs; paths in the CSV start at CheXpert-v1.0-small/."""
    dataset = folder / "CheXpert-v1.0-small" if prefix else folder
    lines = ["Path,Sex,Age,Frontal/Lateral,AP/PA," + ",".join(CHEXPERT_OBSERVATIONS)]
    for path, sex, age, frontal, view, labels in rows:
        lines.append(",".join([f"{prefix}train/{path}", sex, str(age), frontal, view]))
        lines[-1] += "," + ",".join(labels.get(name, "") for name in CHEXPERT_OBSERVATIONS)
        image = dataset / "train" / path
        image.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(np.full((32, 28), 128, np.uint8)).save(image)
    (dataset / "train.csv").write_text("\n".join(lines) + "\n")
    return dataset / "train.csv"


def test_chexpert_csv_with_default_label_policy(tmp_path):
    m = chexpert_manifest(write_chexpert(tmp_path))
    assert m.subject_ids.tolist() == ["patient00001", "patient00002", "patient00003", "patient00004"]
    assert m.row(1)["image"] == str(tmp_path / "CheXpert-v1.0-small/train/patient00002/study2/view1_frontal.jpg")
    np.testing.assert_array_equal(m.covariate("sex"), [1, 1, 0, np.nan])
    np.testing.assert_array_equal(m.covariate("view"), [1, 1, 1, 0])
    assert m.covariate("age").tolist() == [68, 87, 41, 20] and m.covariate("study").tolist() == [1, 2, 1, 1]
    np.testing.assert_array_equal(m.covariate("cardiomegaly"), [np.nan, np.nan, np.nan, np.nan])  # -1 and blank
    np.testing.assert_array_equal(m.covariate("edema"), [np.nan, 1, 1, 0])
    np.testing.assert_array_equal(m.covariate("no_finding"), [1, np.nan, np.nan, 1])
    assert m.validate(workers=2) == []


def test_chexpert_uncertain_and_blank_policies(tmp_path):
    csv_path = write_chexpert(tmp_path)
    ones = chexpert_manifest(csv_path, uncertain="ones", blank="zeros")
    assert ones.covariate("cardiomegaly").tolist() == [0, 1, 0, 0]
    assert chexpert_manifest(csv_path, uncertain="zeros").covariate("cardiomegaly")[1] == 0
    with pytest.raises(ConfigError, match="uncertain must be nan/zeros/ones"):
        chexpert_manifest(csv_path, uncertain="ignore")


def test_chexpert_every_image_and_a_csv_beside_its_images(tmp_path):
    m = chexpert_manifest(write_chexpert(tmp_path), one_per_subject=False)
    assert len(m) == 6 and m.subject_ids[3] == "patient00002/study1/view2_lateral"
    assert m.covariate("frontal")[3] == 0 and np.isnan(m.covariate("view")[3])
    assert m.strings("patient")[1:4].tolist() == ["patient00002"] * 3
    kaggle = chexpert_manifest(write_chexpert(tmp_path / "kaggle", prefix=""))  # paths start at train/
    assert kaggle.row(0)["image"] == str(tmp_path / "kaggle/train/patient00001/study1/view1_frontal.jpg")
    assert kaggle.check_row(0) is None


@pytest.mark.parametrize(
    "row, match",
    [
        # a label that is none of 1, 0, -1 or blank
        (("patient00009/study1/view1_frontal.jpg", "Male", 50, "Frontal", "PA", {"Edema": "2.0"}), r"column 'Edema'"),
        # a path that names no patient folder
        (("scans/view1_frontal.jpg", "Male", 50, "Frontal", "PA", {}), r"column 'Path', row 7: .* no patientNNNNN"),
        # a view that CheXpert does not have
        (("patient00009/study1/view1_frontal.jpg", "Male", 50, "Frontal", "XY", {}), r"column 'AP/PA', row 7: 'XY'"),
    ],
)
def test_chexpert_bad_rows(tmp_path, row, match):
    with pytest.raises(DataError, match=match + r".*rows count from 1"):
        chexpert_manifest(write_chexpert(tmp_path, rows=[*CHEXPERT_ROWS, row]))


def test_chexpert_missing_csv_or_column(tmp_path):
    with pytest.raises(DataError, match=r"train\.csv: CheXpert CSV not found"):
        chexpert_manifest(tmp_path / "train.csv")
    csv_path = write_chexpert(tmp_path)
    csv_path.write_text(csv_path.read_text().replace("Path,Sex,", "Path,Gender,", 1))
    with pytest.raises(DataError, match=r"train\.csv: no column 'Sex' \(expected the CheXpert header"):
        chexpert_manifest(csv_path)


def write_dicom_folder(folder):
    """Real DICOMs shipped with pydicom: two of one patient, an RT plan (no image) and a text file."""
    for name, target in [
        ("JPEG2000.dcm", "jpeg2000.dcm"),
        ("CT_small.dcm", "a/ct.dcm"),
        ("CT_small.dcm", "a/ct_again.dcm"),
        ("MR_small.dcm", "b/mr.dcm"),
        ("rtplan.dcm", "plan.dcm"),
    ]:
        (folder / target).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(pydicom.data.get_testdata_file(name), folder / target)
    (folder / "notes.txt").write_text("not a DICOM file")
    return folder


def test_dicom_folder_by_patient(tmp_path):
    m = dicom_manifest(write_dicom_folder(tmp_path / "dicom"), workers=2)
    assert m.subject_ids.tolist() == ["8NM1", "1CT1", "4MR1"]  # the plan and the text file are skipped
    assert m.row(1)["image"] == str(tmp_path / "dicom/a/ct.dcm")  # the first of patient 1CT1's two images
    np.testing.assert_array_equal(m.covariate("age"), [np.nan, 0, np.nan])  # CT_small says 000Y
    np.testing.assert_array_equal(m.covariate("sex"), [0, np.nan, 1])  # M, O (other), F
    assert m.covariate("rows").tolist() == [1024, 128, 64] and m.strings("modality").tolist() == ["NM", "CT", "MR"]
    assert m.validate(workers=2) == []


def test_dicom_folder_every_image(tmp_path):
    m = dicom_manifest(write_dicom_folder(tmp_path / "dicom"), one_per_subject=False)
    assert m.subject_ids.tolist() == ["jpeg2000", "a/ct", "a/ct_again", "b/mr"]
    assert m.strings("patient").tolist() == ["8NM1", "1CT1", "1CT1", "4MR1"]


def test_dicom_folder_errors(tmp_path):
    with pytest.raises(DataError, match="DICOM folder not found"):
        dicom_manifest(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty/readme.txt").write_text("nothing here")
    with pytest.raises(DataError, match=r"empty: no DICOM image among 1 files"):
        dicom_manifest(tmp_path / "empty")
    folder = write_dicom_folder(tmp_path / "dicom")
    anonymous = pydicom.dcmread(folder / "b/mr.dcm")
    anonymous.PatientID = ""
    anonymous.save_as(folder / "b/mr.dcm")
    with pytest.raises(DataError, match=r"b/mr\.dcm: DICOM image without a PatientID"):
        dicom_manifest(folder)
