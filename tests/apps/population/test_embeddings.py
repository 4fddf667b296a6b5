import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from medmonai.apps.population import embedding_columns, embedding_model, read_embeddings, write_embeddings
from medmonai.errors import DataError


def test_write_then_read_round_trips_ids_values_and_model(tmp_path):
    rng = np.random.default_rng(0)
    ids = np.array([f"sub-{i:04d}" for i in range(37)])
    matrix = rng.normal(size=(37, 12)).astype(np.float32)
    path = write_embeddings(tmp_path / "out" / "embeddings.parquet", ids, matrix, model="contrastive")
    read_ids, read_matrix = read_embeddings(path)
    np.testing.assert_array_equal(read_ids, ids)
    np.testing.assert_array_equal(read_matrix, matrix)
    assert read_matrix.dtype == np.float32
    assert embedding_model(path) == "contrastive"
    assert pq.read_schema(path).names == ["subject_id", *embedding_columns(12)]
    assert not [p for p in path.parent.iterdir() if p.name.startswith(".")]  # no temp file left behind


def test_embedding_columns_are_zero_padded_and_sort_in_order():
    assert embedding_columns(3) == ["e000", "e001", "e002"]
    names = embedding_columns(1200)
    assert names[-1] == "e1199" and sorted(names) == names


def test_read_orders_columns_by_number_and_ignores_others(tmp_path):
    table = pa.table({"e10": [3.0], "note": ["x"], "subject_id": ["a"], "e2": [1.0], "e009": [2.0]})
    pq.write_table(table, tmp_path / "e.parquet")
    _, matrix = read_embeddings(tmp_path / "e.parquet")
    np.testing.assert_array_equal(matrix, [[1.0, 2.0, 3.0]])


BAD_TABLES = {
    # no subject column at all
    "no_subject": ({"e000": [1.0]}, "no 'subject_id' column"),
    # a subject column but no embedding columns
    "no_dims": ({"subject_id": ["a"], "x": [1.0]}, "no embedding columns"),
    # a repeated subject, reported with its rows
    "duplicate": ({"subject_id": ["a", "b", "a"], "e000": [1.0, 2.0, 3.0]}, r"subject 'a' repeats, rows \[1, 3\]"),
    # a missing value, reported with its column and row
    "null": ({"subject_id": ["a", "b"], "e000": [1.0, None]}, "column 'e000', row 2: missing value"),
    # NaN in the embedding
    "nan": ({"subject_id": ["a", "b"], "e000": [1.0, float("nan")]}, "column 'e000', row 2: non-finite"),
    # text where a number is needed
    "text": ({"subject_id": ["a"], "e000": ["x"]}, "column 'e000' must be numeric"),
    # an empty subject id
    "empty_id": ({"subject_id": ["a", ""], "e000": [1.0, 2.0]}, "row 2: empty subject id"),
}


@pytest.mark.parametrize("case", BAD_TABLES, ids=list(BAD_TABLES))
def test_read_names_the_file_and_problem(tmp_path, case):
    columns, message = BAD_TABLES[case]
    path = tmp_path / "bad.parquet"
    pq.write_table(pa.table(columns), path)
    with pytest.raises(DataError, match=message) as info:
        read_embeddings(path)
    assert str(path) in str(info.value) and "\n" not in str(info.value)


def test_read_refuses_a_missing_or_unreadable_file(tmp_path):
    with pytest.raises(DataError, match="embeddings file not found"):
        read_embeddings(tmp_path / "none.parquet")
    (tmp_path / "junk.parquet").write_text("not parquet")
    with pytest.raises(DataError, match="not a readable Parquet file"):
        read_embeddings(tmp_path / "junk.parquet")


def test_write_refuses_bad_matrices(tmp_path):
    with pytest.raises(ValueError, match="must be \\(N, D\\)"):
        write_embeddings(tmp_path / "e.parquet", ["a", "b"], np.zeros((3, 2)))
    with pytest.raises(ValueError, match="must be finite"):
        write_embeddings(tmp_path / "e.parquet", ["a"], np.full((1, 2), np.nan))
    with pytest.raises(ValueError, match="must be unique"):
        write_embeddings(tmp_path / "e.parquet", ["a", "a"], np.zeros((2, 2)))
    assert not (tmp_path / "e.parquet").exists()
