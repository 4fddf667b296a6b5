import numpy as np
import pytest

from medmonai.data.readers.genotypes import read_genotypes
from medmonai.errors import DataError


def _genotype_csv(path, ids, rows):
    path.write_text("subject_id,rs1,rs2\n" + "".join(f"{i},{a},{b}\n" for i, (a, b) in zip(ids, rows, strict=True)))
    return path


def test_read_genotypes_aligns_rows_to_the_subjects(tmp_path):
    path = _genotype_csv(tmp_path / "g.csv", ["s2", "s0", "s1"], [(2, 0), (0, 1), (1, 2)])
    names, dosages = read_genotypes(path, ["s0", "s1", "s2"])
    assert names == ["rs1", "rs2"] and dosages.dtype == np.int8
    np.testing.assert_array_equal(dosages, [[0, 1], [1, 2], [2, 0]])
    _, subset = read_genotypes(path, ["s1"], allow_extra=True)
    np.testing.assert_array_equal(subset, [[1, 2]])


BAD_GENOTYPES = {
    # the table lacks two analysed subjects and lists one that is not analysed
    "mismatch": (["s0", "x9"], [(0, 1), (1, 1)], r"2 subject\(s\) missing \(s1, s2\); 1 extra subject\(s\) \(x9\)"),
    # a dosage of 3
    "not_012": (["s0", "s1", "s2"], [(0, 1), (3, 1), (1, 1)], "column 'rs1', row 2: dosage 3 is not 0, 1 or 2"),
    # text in a dosage column
    "text": (["s0", "s1", "s2"], [(0, 1), (1, "AA"), (1, 1)], "column 'rs2', row 2: 'AA' is not a number"),
    # an empty cell
    "missing": (["s0", "s1", "s2"], [(0, 1), (1, ""), (1, 1)], "column 'rs2', row 2: missing dosage"),
    # a subject listed twice
    "duplicate": (["s0", "s1", "s0"], [(0, 1), (1, 1), (1, 1)], r"subject 's0' repeats, rows \[1, 3\]"),
}


@pytest.mark.parametrize("case", BAD_GENOTYPES, ids=list(BAD_GENOTYPES))
def test_read_genotypes_refuses_bad_tables_in_one_line(tmp_path, case):
    ids, rows, message = BAD_GENOTYPES[case]
    path = _genotype_csv(tmp_path / "genotypes.csv", ids, rows)
    with pytest.raises(DataError, match=message) as info:
        read_genotypes(path, ["s0", "s1", "s2"])
    assert str(info.value).startswith(str(path)) and "\n" not in str(info.value)


def test_read_genotypes_refuses_a_missing_file_or_subject_column(tmp_path):
    with pytest.raises(DataError, match="genotype table not found"):
        read_genotypes(tmp_path / "none.csv", ["s0"])
    (tmp_path / "g.csv").write_text("id,rs1\ns0,1\n")
    with pytest.raises(DataError, match="no 'subject_id' column"):
        read_genotypes(tmp_path / "g.csv", ["s0"])
