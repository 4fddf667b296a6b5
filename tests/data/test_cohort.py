import csv
import gzip
import shutil

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from PIL import Image

from medmonai.data.readers.cohort import REPORT_COLUMNS, CohortManifest
from medmonai.errors import DataError
from tests.data.test_io import write_header_images

MANIFEST = "subject_id,image,age,sex,site\n007,images/a.png,61,1,north\n8,images/b.png,,0,south\n9,{absolute},47.5,1,\n"


@pytest.fixture
def cohort(tmp_path):
    """A CSV manifest of three subjects with real PNGs (one by absolute path), ids that look numeric."""
    (tmp_path / "images").mkdir()
    for name, side in (("a", 24), ("b", 32)):
        Image.fromarray(np.full((side, side + 4), 90, np.uint8)).save(tmp_path / "images" / f"{name}.png")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    Image.fromarray(np.zeros((16, 16), np.uint8)).save(elsewhere / "c.png")
    path = tmp_path / "manifest.csv"
    path.write_text(MANIFEST.format(absolute=elsewhere / "c.png"))
    return path


def test_csv_manifest_reads_ids_as_text_and_resolves_paths(cohort):
    m = CohortManifest.read(cohort)
    assert isinstance(m.table, pa.Table) and len(m) == 3 and m.source == cohort
    assert m.subject_ids.tolist() == ["007", "8", "9"]  # leading zeros kept: ids are text, never numbers
    assert m.columns == ["subject_id", "image", "age", "sex", "site"]
    assert m.covariate_columns == ["age", "sex", "site"]
    first = m.row(0)
    image = str(cohort.parent / "images/a.png")
    assert first == {"subject_id": "007", "image": image, "row": 0, "age": 61, "sex": 1, "site": "north"}
    assert m.row(-1)["image"] == str(cohort.parent / "elsewhere" / "c.png")  # absolute paths stay as they are
    assert np.isnan(m.row(1)["age"]) and m.row(2)["site"] == ""
    assert m.image_paths().tolist() == [m.row(i)["image"] for i in range(3)]


def test_covariates_are_float64_with_nan_for_missing(cohort):
    m = CohortManifest.read(cohort)
    age = m.covariate("age")
    assert age.dtype == np.float64 and age[0] == 61 and np.isnan(age[1]) and age[2] == 47.5
    matrix = m.covariates(["sex", "age"])
    assert matrix.shape == (3, 2) and matrix[:, 0].tolist() == [1, 0, 1]


def test_root_overrides_the_manifest_folder(cohort, tmp_path):
    moved = tmp_path / "moved"
    shutil.copytree(tmp_path / "images", moved / "images")
    m = CohortManifest.read(cohort, root=moved)
    assert m.row(0)["image"] == str(moved / "images/a.png")
    assert m.image_paths()[1] == str(moved / "images/b.png")


def test_parquet_and_gzip_manifests_give_the_same_table(cohort, tmp_path):
    csv_manifest = CohortManifest.read(cohort)
    table = csv_manifest.table.set_column(0, "subject_id", pa.array([7, 8, 9]))  # numeric ids in the file
    pq.write_table(table, tmp_path / "manifest.parquet")
    parquet = CohortManifest.read(tmp_path / "manifest.parquet")
    assert parquet.subject_ids.tolist() == ["7", "8", "9"]
    np.testing.assert_array_equal(parquet.covariate("age"), csv_manifest.covariate("age"))
    (tmp_path / "manifest.csv.gz").write_bytes(gzip.compress(cohort.read_bytes()))
    gz = CohortManifest.read(tmp_path / "manifest.csv.gz")
    assert gz.subject_ids.tolist() == ["007", "8", "9"] and gz.row(1)["image"] == csv_manifest.row(1)["image"]


def test_several_image_columns_and_another_subject_column(tmp_path):
    path = tmp_path / "m.csv"
    path.write_text("eid,t1,flair,age\n1001,a.nii.gz,b.nii.gz,50\n1002,c.nii.gz,d.nii.gz,60\n")
    m = CohortManifest.read(path, image_columns=("t1", "flair"), subject_column="eid")
    assert m.row(1) == {
        "subject_id": "1002",
        "t1": str(tmp_path / "c.nii.gz"),
        "flair": str(tmp_path / "d.nii.gz"),
        "row": 1,
        "age": 60,
    }
    assert m.covariate_columns == ["age"]


@pytest.mark.parametrize(
    "content, match",
    [
        # the subject column is missing: the error lists the columns that are there
        ("id,image\n1,a.png\n", r"m\.csv: no 'subject_id' column \(columns: id, image\)$"),
        # the image column is missing
        ("subject_id,img\n1,a.png\n", r"m\.csv: no 'image' column \(columns: subject_id, img\)$"),
        # a subject listed twice: the id and both file rows (1-based, header excluded)
        (
            "subject_id,image\n1,a\n2,b\n1,c\n3,d\n2,e\n",
            r"m\.csv: column 'subject_id': subject '1' appears 2 times \(rows 1, 3; rows count from 1, header "
            r"excluded\); subject ids must be unique \(2 repeated ids in all\)",
        ),
        # a header and nothing else
        ("subject_id,image\n", r"m\.csv: the manifest lists no subjects"),
        # a blank subject id
        ("subject_id,image\n1,a\n ,b\n", r"m\.csv: column 'subject_id', row 2: empty subject id"),
        # a row with more fields than the header
        ("subject_id,image\n1,a,extra\n", r"m\.csv: unreadable manifest \(CSV parse error"),
    ],
)
def test_bad_manifests_are_one_line_errors(tmp_path, content, match):
    (tmp_path / "m.csv").write_text(content)
    with pytest.raises(DataError, match=match) as caught:
        CohortManifest.read(tmp_path / "m.csv")
    assert "\n" not in str(caught.value)


def test_missing_and_unsupported_manifest_files(tmp_path):
    with pytest.raises(DataError, match=r"nope\.csv: manifest file not found"):
        CohortManifest.read(tmp_path / "nope.csv")
    (tmp_path / "m.json").write_text("[]")
    with pytest.raises(DataError, match=r"must be \.csv, \.csv\.gz or \.parquet, got 'm\.json'"):
        CohortManifest.read(tmp_path / "m.json")


def test_non_numeric_covariate_names_column_row_and_value(cohort):
    text = cohort.read_text().replace("47.5", "forty")
    cohort.write_text(text)
    m = CohortManifest.read(cohort)
    with pytest.raises(DataError, match=r"manifest\.csv: column 'age', row 3: 'forty' is not a number"):
        m.covariate("age")
    with pytest.raises(DataError, match=r"column 'site', row 1: 'north' is not a number"):
        m.covariates(["sex", "site"])
    with pytest.raises(DataError, match=r"no 'height' column \(columns: subject_id, image, age, sex, site\)"):
        m.covariate("height")


def test_take_keeps_the_file_rows_in_messages(cohort):
    cohort.write_text(cohort.read_text().replace("47.5", "old"))
    subset = CohortManifest.read(cohort).take([2, 0])
    assert subset.subject_ids.tolist() == ["9", "007"] and subset.row(0)["row"] == 0
    with pytest.raises(DataError, match=r"column 'age', row 3: 'old'"):  # file row 3, though position 0 here
        subset.covariate("age")
    with pytest.raises(ValueError, match="must not repeat"):
        CohortManifest.read(cohort).take([0, 0])
    with pytest.raises(IndexError):
        CohortManifest.read(cohort).take([3])


def test_check_row_and_validate_report_bad_rows(tmp_path):
    write_header_images(tmp_path / "i")
    rows = ["x.png", "x.jpg", "v.nii.gz", "ct.dcm", "missing.png", "broken.png", "broken.nii.gz", "plan.dcm", ""]
    lines = [f"s{k},{'i/' + name if name else ''}" for k, name in enumerate(rows)]
    (tmp_path / "m.csv").write_text("subject_id,image\n" + "\n".join(lines) + "\n")
    m = CohortManifest.read(tmp_path / "m.csv", spatial_dims=2)
    assert [m.check_row(i) for i in range(2)] == [None, None] and m.check_row(3) is None
    assert m.check_row(2).endswith("v.nii.gz: 3-D image (6x7x8), expected 2-D")
    assert (
        m.check_row(4)
        == f"{tmp_path / 'm.csv'}: row 5 (subject 's4'), column 'image': "
        + str(tmp_path / "i/missing.png")
        + ": file not found"
    )
    assert "unreadable image header" in m.check_row(5) and "unreadable image header" in m.check_row(6)
    assert m.check_row(-1).endswith("column 'image': no path given")
    report = tmp_path / "out" / "bad_rows.csv"
    bad = m.validate(workers=2, report=report)
    assert [b["row"] for b in bad] == [2, 4, 5, 6, 7, 8] and [b["file_row"] for b in bad] == [3, 5, 6, 7, 8, 9]
    assert bad[3]["subject_id"] == "s6" and bad[4]["problem"].startswith("DICOM without an image")
    with report.open() as f:
        written = list(csv.DictReader(f))
    assert tuple(written[0]) == REPORT_COLUMNS and [int(r["row"]) for r in written] == [2, 4, 5, 6, 7, 8]
    assert m.validate(workers=0) == bad  # the same answer without threads
    assert not list(report.parent.glob(".*"))  # written atomically: no temp file left behind


def test_validate_writes_a_header_only_report_when_all_is_well(cohort, tmp_path):
    assert CohortManifest.read(cohort).validate(workers=3, report=tmp_path / "ok.csv") == []
    assert (tmp_path / "ok.csv").read_text() == ",".join(REPORT_COLUMNS) + "\n"


def test_a_large_table_stays_columnar_and_is_checked_vectorised(tmp_path):
    n = 200_000
    ids = np.char.add("sub", np.arange(n).astype(str))
    table = pa.table({"subject_id": ids, "image": np.char.add(ids, ".nii.gz"), "age": np.linspace(40, 80, n)})
    m = CohortManifest(table, tmp_path / "big.parquet")
    assert isinstance(m.table, pa.Table) and len(m) == n
    last = {"subject_id": f"sub{n - 1}", "image": str(tmp_path / f"sub{n - 1}.nii.gz"), "row": n - 1, "age": 80.0}
    assert m.row(n - 1) == last
    assert m.covariate("age").shape == (n,)
    duplicated = table.set_column(0, "subject_id", pa.array(np.concatenate([ids[:-1], ids[:1]])))
    with pytest.raises(DataError, match=rf"subject 'sub0' appears 2 times \(rows 1, {n};"):
        CohortManifest(duplicated, tmp_path / "big.parquet")
