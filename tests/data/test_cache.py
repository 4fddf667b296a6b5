import pytest

from medmonai.data.cache import cached_folder


def _writer(calls):
    def write(staging):
        calls.append(staging)
        (staging / "part.txt").write_text("content")
        (staging / "done.json").write_text("{}")

    return write


def test_a_folder_is_written_once_and_then_reused(tmp_path):
    calls = []
    folder = cached_folder(tmp_path, "sub/set_v1", "done.json", _writer(calls), "writing a test set")
    assert folder == tmp_path / "sub" / "set_v1" and (folder / "part.txt").read_text() == "content"
    assert cached_folder(tmp_path, "sub/set_v1", "done.json", _writer(calls), "writing a test set") == folder
    assert len(calls) == 1 and not calls[0].exists()  # the staging folder was renamed into place


def test_a_failed_write_leaves_no_folder(tmp_path):
    def fail(staging):
        (staging / "part.txt").write_text("half")
        raise RuntimeError("generator failed")

    with pytest.raises(RuntimeError, match="generator failed"):
        cached_folder(tmp_path, "set_v1", "done.json", fail, "writing a test set")
    assert list(tmp_path.iterdir()) == []


def test_a_folder_completed_meanwhile_by_another_process_is_returned(tmp_path):
    def race(staging):  # another writer finishes first, so the rename onto a full folder fails
        _writer([])(tmp_path / "set_v1")

    (tmp_path / "set_v1").mkdir()
    assert cached_folder(tmp_path, "set_v1", "done.json", race, "writing a test set") == tmp_path / "set_v1"
    assert [p.name for p in tmp_path.iterdir()] == ["set_v1"]  # the staging folder is gone


def test_the_default_root_is_the_medmonai_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("MEDMONAI_CACHE", str(tmp_path / "cache"))
    folder = cached_folder(None, "set_v1", "done.json", _writer([]), "writing a test set")
    assert folder == tmp_path / "cache" / "set_v1" and (folder / "done.json").is_file()
