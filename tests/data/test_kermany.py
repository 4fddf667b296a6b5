import numpy as np
import pytest
from PIL import Image

from medmonai.data.io import load_grayscale
from medmonai.data.readers.kermany import kermany_datalists, patient_id
from medmonai.data.synthetic.retina import OCT_CLASSES
from medmonai.errors import ConfigError, DataError


def retina(kind: str, rng: np.random.Generator, width: int = 160, height: int = 120) -> np.ndarray:
    """A procedural OCT B-scan: bright layered retina on a dark background, with a class-specific change."""
    y = np.arange(height)[:, None]
    x = np.arange(width)[None, :]
    surface = 40 + 6 * np.sin(x / 25.0 + rng.uniform(0, 6))
    image = np.zeros((height, width))
    for depth, brightness in ((0, 200), (8, 120), (14, 170), (22, 90), (30, 220)):
        image += brightness * np.exp(-(((y - surface - depth) / 2.5) ** 2))
    centre = width // 2 + rng.integers(-20, 20)
    if kind == "CNV":  # a bright lump under the retina
        image += 180 * np.exp(-(((x - centre) / 12.0) ** 2 + ((y - surface - 38) / 6.0) ** 2))
    elif kind == "DME":  # a dark fluid pocket inside it
        image *= 1 - 0.9 * np.exp(-(((x - centre) / 14.0) ** 2 + ((y - surface - 15) / 6.0) ** 2))
    elif kind == "DRUSEN":  # small bumps of the deepest layer
        image += 120 * np.exp(-(((x % 30 - 15) / 4.0) ** 2 + ((y - surface - 33) / 3.0) ** 2))
    image += rng.normal(0, 12, image.shape)
    return np.clip(image, 0, 255).astype(np.uint8)


def write_oct_tree(root, per_class: int = 6, patients: int = 3, seed: int = 0):
    """``OCT2017/{train,test}/{CNV,DME,DRUSEN,NORMAL}/<CLASS>-<patient>-<n>.jpeg`` of procedural B-scans."""
    rng = np.random.default_rng(seed)
    for split in ("train", "test"):
        for name in OCT_CLASSES:
            folder = root / split / name
            folder.mkdir(parents=True)
            for i in range(per_class):
                patient = 1000 + 100 * OCT_CLASSES.index(name) + 10 * (split == "test") + i % patients
                Image.fromarray(retina(name, rng)).save(folder / f"{name}-{patient}-{i}.jpeg", quality=90)
    return root


def break_oct_tree(root, problem: str):
    """Damage a tree: an empty class folder, an unreadable JPEG, a renamed split or class folder."""
    if problem == "empty":
        for p in (root / "train" / "DME").iterdir():
            p.unlink()
    elif problem == "unreadable":
        next((root / "test" / "DRUSEN").glob("*-0.jpeg")).write_bytes(b"not a jpeg")
    elif problem == "layout":
        (root / "test").rename(root / "testing")
    elif problem == "missing_class":
        (root / "train" / "CNV").rename(root / "train" / "cnv_images")
    elif problem == "one_pixel":
        Image.fromarray(np.zeros((1, 1), np.uint8)).save(next((root / "train" / "NORMAL").glob("*-1.jpeg")))
    elif problem == "truncated":
        path = next((root / "test" / "CNV").glob("*-0.jpeg"))
        path.write_bytes(path.read_bytes()[: len(path.read_bytes()) // 2])
    return root


def test_patient_id_is_the_middle_token():
    assert patient_id("/x/CNV-1016042-1.jpeg") == "1016042"
    assert patient_id("NORMAL-22-333-4.jpeg") == "22-333"


def test_split_by_patient_and_test_sets(tmp_path):
    root = write_oct_tree(tmp_path / "OCT2017", per_class=6, patients=3)
    lists = kermany_datalists(root, val_fraction=0.34, seed=0)
    assert {i["class"] for i in lists["train"] + lists["val"]} == {"NORMAL"}
    assert not {i["patient"] for i in lists["train"]} & {i["patient"] for i in lists["val"]}
    assert len(lists["train"]) + len(lists["val"]) == 6 and lists["val"]
    assert sorted({i["label"] for i in lists["test"]}) == [0, 1, 2, 3] and len(lists["test"]) == 24


def test_reference_500_needs_enough_test_images(tmp_path):
    root = write_oct_tree(tmp_path / "OCT2017", per_class=3)
    with pytest.raises(DataError, match=r"NORMAL: the reference test set needs 200 images, found 3"):
        kermany_datalists(root, test_set="reference500")


def test_load_grayscale_resizes_and_centre_crops(tmp_path):
    path = tmp_path / "NORMAL-1-1.jpeg"
    Image.fromarray(retina("NORMAL", np.random.default_rng(0), width=300, height=150)).convert("RGB").save(path)
    image = load_grayscale(path, 128)
    assert image.shape == (1, 128, 128) and image.dtype == np.float32
    assert 0.0 <= image.min() and image.max() <= 1.0 and image.std() > 0.05


@pytest.mark.parametrize(
    "problem, match",
    [
        ("empty", r"train/DME: empty class folder \(no \.jpeg images\)"),
        ("unreadable", r"DRUSEN-\d+-0\.jpeg: unreadable image"),
        ("layout", r"OCT2017: no test/ folder; expected OCT2017/\{train,test\}"),
        ("missing_class", r"train: no CNV/ folder"),
    ],
)
def test_bad_trees(tmp_path, problem, match):
    root = break_oct_tree(write_oct_tree(tmp_path / "OCT2017", per_class=2, patients=2), problem)
    with pytest.raises(DataError, match=match):
        kermany_datalists(root)


def test_a_missing_folder_and_bad_options_are_named(tmp_path):
    with pytest.raises(DataError, match="nowhere: dataset_dir does not exist. Get it from"):
        kermany_datalists(tmp_path / "nowhere")
    with pytest.raises(ConfigError, match="test_set must be all or reference500"):
        kermany_datalists(tmp_path, test_set="some")
