import json

import pytest
from matplotlib.figure import Figure

from medmonai.utils import atomic_write_bytes, figure_png_bytes, json_bytes, read_json, write_outputs


def test_write_outputs_creates_folder_and_files(tmp_path):
    written = write_outputs(tmp_path / "out", {"a.json": json_bytes({"x": 1.5}), "b.txt": b"hi"})
    assert [p.name for p in written] == ["a.json", "b.txt"]
    assert read_json(tmp_path / "out" / "a.json") == {"x": 1.5}
    assert not list((tmp_path / "out").glob(".*"))  # no temp files left


def test_failed_write_keeps_the_earlier_file(tmp_path, monkeypatch):
    path = tmp_path / "metrics.json"
    atomic_write_bytes(path, b"earlier")

    def broken_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr("os.replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        atomic_write_bytes(path, b"newer")
    assert path.read_bytes() == b"earlier"
    assert [p.name for p in tmp_path.iterdir()] == ["metrics.json"]


def test_json_bytes_turns_non_finite_into_null():
    assert json.loads(json_bytes({"a": float("nan"), "b": 1.0})) == {"a": None, "b": 1.0}


def test_figure_png_bytes_is_a_png():
    fig = Figure()
    fig.add_subplot().plot([0, 1], [1, 0])
    assert figure_png_bytes(fig)[:8] == b"\x89PNG\r\n\x1a\n"


def test_read_json_missing(tmp_path):
    assert read_json(tmp_path / "none.json") is None
