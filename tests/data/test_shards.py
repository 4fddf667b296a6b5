import json
import logging
import pickle
from concurrent.futures import ThreadPoolExecutor

import nibabel as nib
import numpy as np
import pyarrow as pa
import pytest
from PIL import Image

from medmonai.data.readers.cohort import CohortManifest
from medmonai.data.shards import Preprocess, ShardCache, build_shard_cache, cache_key
from medmonai.errors import ConfigError, DataError

SHAPE = (8, 8, 8)


def write_cohort(folder, n, sizes=((10, 9, 8), (7, 12, 6)), columns=("image",), seed=0):
    """n real NIfTI volumes of varying sizes (so pad and crop both happen) and a CSV manifest over them."""
    rng = np.random.default_rng(seed)
    (folder / "volumes").mkdir(parents=True, exist_ok=True)
    lines = ["subject_id," + ",".join(columns) + ",age"]
    for i in range(n):
        files = []
        for column in columns:
            volume = rng.normal(100.0 * (i + 1), 10.0, size=sizes[i % len(sizes)]).astype(np.float32)
            nib.save(nib.Nifti1Image(volume, np.eye(4)), folder / "volumes" / f"sub{i:03d}_{column}.nii.gz")
            files.append(f"volumes/sub{i:03d}_{column}.nii.gz")
        lines.append(f"sub{i:03d}," + ",".join(files) + f",{40 + i}")
    (folder / "manifest.csv").write_text("\n".join(lines) + "\n")
    return CohortManifest.read(folder / "manifest.csv", image_columns=columns)


class FailOnRow:
    """The same preprocessing, interrupted at one file: stands in for a run killed mid-way."""

    def __init__(self, preprocess, path):
        self.preprocess, self.path = preprocess, path
        self.output_shape = preprocess.output_shape

    def spec(self):
        return self.preprocess.spec()

    def __call__(self, path):
        if path == self.path:
            raise KeyboardInterrupt("killed")
        return self.preprocess(path)


def shard_files(cache_dir):
    return sorted(cache_dir.glob("shard-*.npy"))


def identity(path):
    stat = path.stat()
    return stat.st_ino, stat.st_mtime_ns


# --- Preprocess


def test_preprocess_gives_the_fixed_shape_normalised_float32(tmp_path):
    m = write_cohort(tmp_path, 2)
    for name, check in {
        "zscore": lambda x: abs(x.mean()) < 1e-4 and abs(x.std() - 1) < 1e-3,  # zero mean, unit std
        "percentile": lambda x: x.min() == 0.0 and x.max() == 1.0,  # clipped to [0, 1]
        "minmax": lambda x: x.min() == 0.0 and x.max() == 1.0,
    }.items():
        for resize in ("pad_crop", "resize", "fit"):
            out = Preprocess(SHAPE, normalize=name, resize=resize)(m.row(1)["image"])
            assert out.dtype == np.float32 and out.shape == (1, *SHAPE)
            assert check(out), (name, resize)


def test_pad_crop_keeps_the_centre_voxels_unchanged(tmp_path):
    volume = np.arange(6 * 10 * 8, dtype=np.float32).reshape(6, 10, 8)
    nib.save(nib.Nifti1Image(volume, np.eye(4)), tmp_path / "v.nii.gz")
    out = Preprocess(SHAPE, normalize="none")(tmp_path / "v.nii.gz")[0]
    assert np.array_equal(out[1:7, :, :], volume[:, 1:9, :])  # 6 -> 8 padded by one each side; 10 -> 8 cropped
    assert (out[0] == 0).all() and (out[7] == 0).all()


def test_2d_grayscale_and_rgba_pngs_become_one_channel(tmp_path):
    gray = np.tile(np.arange(40, dtype=np.uint8), (30, 1))
    Image.fromarray(gray).save(tmp_path / "gray.png")
    Image.fromarray(np.dstack([gray, gray, gray, np.full_like(gray, 255)])).save(tmp_path / "rgba.png")
    preprocess = Preprocess((16, 16), spatial_dims=2, normalize="minmax", resize="resize")
    a, b = preprocess(tmp_path / "gray.png"), preprocess(tmp_path / "rgba.png")
    assert a.shape == b.shape == (1, 16, 16)
    np.testing.assert_allclose(a, b, atol=1e-6)  # RGB(A) of a gray image is averaged back to that gray image


def test_preprocess_errors_name_the_file(tmp_path):
    Image.fromarray(np.zeros((20, 20), np.uint8)).save(tmp_path / "flat.png")
    (tmp_path / "broken.nii.gz").write_bytes(b"not a volume")
    with pytest.raises(DataError, match=r"flat\.png: image has 2 spatial dimensions .*expected 3"):
        Preprocess(SHAPE)(tmp_path / "flat.png")
    with pytest.raises(DataError, match=r"missing\.nii\.gz: image file not found"):
        Preprocess(SHAPE)(tmp_path / "missing.nii.gz")
    with pytest.raises(DataError, match=r"broken\.nii\.gz: unreadable image"):
        Preprocess(SHAPE)(tmp_path / "broken.nii.gz")


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"shape": (8, 8)}, r"shape as many positive sizes, got 3 and \(8, 8\)"),  # too few sizes for 3-D
        ({"shape": SHAPE, "normalize": "unit"}, "normalize must be one of"),
        ({"shape": SHAPE, "resize": "stretch"}, "resize must be one of"),
        ({"shape": SHAPE, "channels": 0}, "channels must be >= 1"),
        ({"shape": SHAPE, "pixdim": (1.0, 1.0)}, "pixdim must have 3"),
    ],
)
def test_preprocess_refuses_bad_settings(kwargs, match):
    with pytest.raises(ConfigError, match=match):
        Preprocess(**kwargs)


def test_spec_names_every_step_and_changes_with_any_argument():
    spec = Preprocess(SHAPE, orientation="RAS", pixdim=(2.0, 2.0, 2.0)).spec()
    assert json.loads(json.dumps(spec)) == spec  # JSON-able
    names = [step["name"] for step in spec["steps"]]
    assert names == [
        "LoadImage",
        "MatchChannels",
        "Orientation",
        "Spacing",
        "ResizeWithPadOrCrop",
        "NormalizeIntensity",
    ]
    assert spec["format"] >= 1 and spec["monai"]
    others = [
        Preprocess(SHAPE, orientation="LPS", pixdim=(2.0, 2.0, 2.0)),
        Preprocess(SHAPE, orientation="RAS", pixdim=(1.0, 2.0, 2.0)),
        Preprocess(SHAPE, orientation="RAS", pixdim=(2.0, 2.0, 2.0), nonzero=True),
        Preprocess((8, 8, 9), orientation="RAS", pixdim=(2.0, 2.0, 2.0)),
    ]
    assert all(other.spec() != spec for other in others)


# --- build_shard_cache and ShardCache


def test_cache_holds_every_row_as_float16_in_row_order(tmp_path):
    m = write_cohort(tmp_path, 7)
    preprocess = Preprocess(SHAPE)
    cache = build_shard_cache(m, tmp_path / "cache", preprocess, shard_size=3)
    assert len(cache) == 7 and cache.n_shards == 3 and cache.shape == (1, *SHAPE)
    assert [len(np.load(p)) for p in shard_files(cache.cache_dir)] == [3, 3, 1]
    assert cache.subject_ids.tolist() == m.subject_ids.tolist() and cache.rows.tolist() == list(range(7))
    for i in range(7):
        sample = cache.read(i)
        assert sample.dtype == np.float16
        np.testing.assert_array_equal(sample, preprocess(m.row(i)["image"]).astype(np.float16))
    meta = json.loads((cache.cache_dir / "cache.json").read_text())
    assert meta["complete"] and meta["key"] == cache.key == cache_key(m, preprocess, 3) and meta["counts"] == [3, 3, 1]
    assert not list(cache.cache_dir.glob(".*"))  # no temp files left
    with pytest.raises(IndexError, match=r"sample index must be in \[0, 7\), got 7"):
        cache.read(7)


def test_image_columns_are_stacked_as_channels(tmp_path):
    m = write_cohort(tmp_path, 3, columns=("t1", "t2"))
    preprocess = Preprocess(SHAPE)
    cache = build_shard_cache(m, tmp_path / "cache", preprocess, shard_size=2)
    assert cache.shape == (2, *SHAPE)
    row = m.row(2)
    np.testing.assert_array_equal(cache.read(2)[1], preprocess(row["t2"])[0].astype(np.float16))


def test_the_key_changes_with_the_transform_the_paths_and_the_shard_size(tmp_path):
    m = write_cohort(tmp_path, 4)
    key = cache_key(m, Preprocess(SHAPE), 2)
    assert key == cache_key(CohortManifest.read(tmp_path / "manifest.csv"), Preprocess(SHAPE), 2)  # reproducible
    rechunked = CohortManifest(pa.Table.from_batches(m.table.to_batches(max_chunksize=1)), m.source)
    assert cache_key(rechunked, Preprocess(SHAPE), 2) == key  # the table's layout in memory does not matter
    renamed = CohortManifest(
        m.table.set_column(0, "subject_id", pa.array(["x", "sub001", "sub002", "sub003"])), m.source
    )
    assert cache_key(renamed, Preprocess(SHAPE), 2) != key
    moved = CohortManifest.read(tmp_path / "manifest.csv", root=tmp_path / "elsewhere")
    assert (
        len({key, cache_key(m, Preprocess(SHAPE, normalize="percentile"), 2), cache_key(m, Preprocess(SHAPE), 3)}) == 3
    )
    assert cache_key(moved, Preprocess(SHAPE), 2) != key
    assert cache_key(m.take([1, 0, 2, 3]), Preprocess(SHAPE), 2) != key  # subjects in another order


def test_a_cache_of_other_settings_is_refused_or_rebuilt_never_mixed(tmp_path):
    m = write_cohort(tmp_path, 4)
    old = build_shard_cache(m, tmp_path / "cache", Preprocess(SHAPE), shard_size=2)
    other = Preprocess(SHAPE, normalize="percentile")
    new_key = cache_key(m, other, 2)
    with pytest.raises(
        ConfigError, match=rf"cache: holds a shard cache with key {old.key}, .* key {new_key}; pass rebuild"
    ):
        build_shard_cache(m, tmp_path / "cache", other, shard_size=2)
    assert ShardCache(tmp_path / "cache").key == old.key  # untouched by the refusal
    rebuilt = build_shard_cache(m, tmp_path / "cache", other, shard_size=2, rebuild=True)
    assert rebuilt.key == new_key and float(rebuilt.read(0).min()) >= 0.0  # percentile output, not z-scores
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "notes.txt").write_text("mine")
    with pytest.raises(ConfigError, match=r"other: not empty and holds no shard cache"):
        build_shard_cache(m, tmp_path / "other", other)


@pytest.mark.parametrize("workers", [0, 2])
def test_a_killed_build_resumes_keeping_finished_shards(tmp_path, workers):
    m = write_cohort(tmp_path, 11)
    preprocess = Preprocess(SHAPE)
    cache_dir = tmp_path / "cache"
    with pytest.raises(KeyboardInterrupt):  # killed while preprocessing row 7 (shard 2 of 0..3)
        build_shard_cache(m, cache_dir, FailOnRow(preprocess, m.row(7)["image"]), shard_size=3, workers=workers)
    assert not json.loads((cache_dir / "cache.json").read_text())["complete"]
    with pytest.raises(DataError, match="cache: shard cache is incomplete; run build_shard_cache again"):
        ShardCache(cache_dir)
    finished = shard_files(cache_dir)
    assert [p.name for p in finished] == ["shard-000000.npy", "shard-000001.npy"]
    before = {p.name: identity(p) for p in finished}
    assert not list(cache_dir.glob(".*.tmp"))  # the half-written shard was removed
    resumed = build_shard_cache(m, cache_dir, preprocess, shard_size=3, workers=workers)
    assert {p.name: identity(p) for p in shard_files(cache_dir)[:2]} == before  # not rewritten
    clean = build_shard_cache(m, tmp_path / "clean", preprocess, shard_size=3)
    assert resumed.key == clean.key and len(resumed) == len(clean) == 11
    for a, b in zip(shard_files(cache_dir), shard_files(clean.cache_dir), strict=True):
        assert a.read_bytes() == b.read_bytes()
    assert resumed.subject_ids.tolist() == clean.subject_ids.tolist()
    again = build_shard_cache(m, cache_dir, preprocess, shard_size=3)  # complete: nothing is written
    assert {p.name: identity(p) for p in shard_files(cache_dir)[:2]} == before and len(again) == 11


def test_invalid_rows_are_skipped_and_recorded_or_stop_the_build(tmp_path, caplog):
    m = write_cohort(tmp_path, 6)
    (tmp_path / "volumes" / "sub002_image.nii.gz").unlink()  # missing: found by the header check
    (tmp_path / "volumes" / "sub004_image.nii.gz").write_bytes(b"\x1f\x8b damaged")  # unreadable
    with pytest.raises(DataError, match=r"manifest\.csv: row 3 \(subject 'sub002'\), column 'image': .*sub002_image"):
        build_shard_cache(m, tmp_path / "strict", Preprocess(SHAPE), shard_size=2)
    assert not json.loads((tmp_path / "strict" / "cache.json").read_text())["complete"]
    with pytest.raises(
        DataError, match=r"row 3 \(subject 'sub002'\), column 'image': .*sub002_image.nii.gz: image file not"
    ):
        build_shard_cache(m, tmp_path / "strict", Preprocess(SHAPE), shard_size=2, check_rows=False)  # the load fails
    caplog.clear()  # the strict builds' INFO lines reach caplog when an earlier test set the logger to INFO
    with caplog.at_level(logging.WARNING, logger="medmonai.data.shards.build"):
        cache = build_shard_cache(m, tmp_path / "lenient", Preprocess(SHAPE), shard_size=2, skip_invalid=True)
    warnings = [
        r.getMessage()
        for r in caplog.records
        if r.name == "medmonai.data.shards.build" and r.levelno >= logging.WARNING
    ]
    assert len(warnings) == 2 and all("\n" not in w and "(skipped)" in w for w in warnings)
    assert "row 5 (subject 'sub004')" in warnings[1] and "sub004_image.nii.gz" in warnings[1]
    assert len(cache) == 4 and cache.subject_ids.tolist() == ["sub000", "sub001", "sub003", "sub005"]
    assert [s["row"] for s in cache.skipped] == [2, 4] and cache.counts.tolist() == [2, 1, 1]
    assert cache.indices_for_rows([5, 4, 3, 0]).tolist() == [3, 2, 0]  # skipped row 4 left out
    with pytest.raises(
        DataError,
        match=r"row 3 \(subject 'sub002'\).*one of 2 rows a build with skip_invalid=True left out of .*lenient;",
    ):
        build_shard_cache(m, tmp_path / "lenient", Preprocess(SHAPE), shard_size=2)  # strict: no rows may be missing


def test_values_beyond_float16_are_refused(tmp_path):
    nib.save(nib.Nifti1Image(np.full((8, 8, 8), 1e6, np.float32), np.eye(4)), tmp_path / "v.nii.gz")
    (tmp_path / "manifest.csv").write_text("subject_id,image\nbig,v.nii.gz\n")
    m = CohortManifest.read(tmp_path / "manifest.csv")
    with pytest.raises(DataError, match=r"row 1 \(subject 'big'\).*v\.nii\.gz: .*exceed float16"):
        build_shard_cache(m, tmp_path / "cache", Preprocess(SHAPE, normalize="none"))


def test_threads_give_the_same_cache_and_a_cache_survives_pickling(tmp_path):
    m = write_cohort(tmp_path, 9)
    serial = build_shard_cache(m, tmp_path / "serial", Preprocess(SHAPE), shard_size=4)
    threaded = build_shard_cache(m, tmp_path / "threaded", Preprocess(SHAPE), shard_size=4, workers=2)
    for a, b in zip(shard_files(serial.cache_dir), shard_files(threaded.cache_dir), strict=True):
        assert a.read_bytes() == b.read_bytes()
    serial.read(5)  # maps a shard, which must not travel in the pickle
    copy = pickle.loads(pickle.dumps(serial))
    assert len(pickle.dumps(serial)) < 4096 and np.array_equal(copy.read(5), serial.read(5))


def test_concurrent_builds_of_one_cache_preprocess_each_row_once(tmp_path):
    m = write_cohort(tmp_path, 6)
    calls = []

    class Counted(FailOnRow):  # counts instead of failing
        def __call__(self, path):
            calls.append(path)
            return self.preprocess(path)

    def build(_):
        return build_shard_cache(m, tmp_path / "cache", Counted(Preprocess(SHAPE), None), shard_size=4).key

    with ThreadPoolExecutor(2) as pool:  # as two torchrun ranks would: one builds, the other waits for it
        keys = list(pool.map(build, range(2)))
    assert keys[0] == keys[1] and len(calls) == 6
    assert (tmp_path / "cache.lock").is_file()


def test_a_damaged_cache_is_a_data_error(tmp_path):
    cache = build_shard_cache(write_cohort(tmp_path, 3), tmp_path / "cache", Preprocess(SHAPE), shard_size=2)
    (cache.cache_dir / "rows.npy").unlink()
    with pytest.raises(DataError, match=r"cache: unreadable shard cache index .*; rebuild the cache"):
        ShardCache(cache.cache_dir)


def test_opening_a_folder_without_a_cache_is_a_data_error(tmp_path):
    with pytest.raises(DataError, match="no cache.json; not a shard cache"):
        ShardCache(tmp_path)


def test_bad_build_settings_are_config_errors(tmp_path):
    m = write_cohort(tmp_path, 1)
    with pytest.raises(ConfigError, match="shard_size must be >= 1 and workers >= 0, got 0 and 0"):
        build_shard_cache(m, tmp_path / "cache", Preprocess(SHAPE), shard_size=0)
