"""The image sets of a one-class anomaly experiment (reference 004): normal training images, test normals, anomalies.

Anomaly sets, each of ``n_anomalies`` images:

- ``other``: images of another data set: FashionMNIST (or any MNIST-format IDX folder/npz, or a MedMNIST npz)
  named by ``other_dataset``; without one, real patches of pydicom's shipped DICOM test images;
- ``noise``: test normals plus Gaussian noise of std ``noise_std``, clipped to [0, 1];
- ``real``: test images of the classes that are not normal (absent when every class is normal, as for MNIST).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from medmonai.data.io import load_grayscale, unit_range
from medmonai.data.readers.dicom import dicom_patches
from medmonai.data.readers.digits import load_embedded_digits
from medmonai.data.readers.medmnist import MEDMNIST_NORMAL_CLASSES, medmnist_normal_classes, read_medmnist
from medmonai.data.readers.mnist import read_mnist
from medmonai.data.readers.scans import image_folder
from medmonai.data.splits import parse_classes, stratified_split
from medmonai.errors import ConfigError, DataError
from medmonai.keys import Keys

__all__ = ["OneClassSets", "one_class_sets", "one_class_items", "DEFAULT_NORMAL_CLASSES"]

logger = logging.getLogger(__name__)
# normal classes per data set, as reference 004 trains them
DEFAULT_NORMAL_CLASSES = {**MEDMNIST_NORMAL_CLASSES, "mnist": None, "digits": [0]}


@dataclass
class OneClassSets:
    """Arrays of one experiment, all ``(N, 1, S, S)`` float32 in [0, 1].

    Attributes:
        train: normal training images. test_normal: normal test images.
        anomalies: ``{"other" | "noise" | "real": images}``. source: where the data came from.
        normal_classes: the normal labels, None meaning all. name: a short name for tables.
    """

    train: np.ndarray
    test_normal: np.ndarray
    anomalies: dict[str, np.ndarray] = field(default_factory=dict)
    source: str = ""
    normal_classes: list[int] | None = None
    name: str = ""


def _unit(images: np.ndarray, size: int) -> np.ndarray:
    x = unit_range(images)
    t = torch.from_numpy(x.reshape(len(x), 1, *x.shape[-2:]))
    if t.shape[-1] != size or t.shape[-2] != size:
        t = F.interpolate(t, size=(size, size), mode="area" if t.shape[-1] > size else "bilinear")
    return t.clamp(0.0, 1.0).numpy()


def _load(dataset: str, dataset_dir: str, seed: int, test_fraction: float) -> tuple[dict, str]:
    """``{"train": (x, y), "test": (x, y)}`` and a source name."""
    if dataset == "digits":
        arrays = load_embedded_digits()
        images, labels = arrays.split("all")
        rest, test = stratified_split(labels, test_fraction, seed)
        return {"train": (images[rest], labels[rest]), "test": (images[test], labels[test])}, arrays.source
    if not dataset_dir:
        raise ConfigError(f"dataset {dataset!r} needs dataset_dir (an MNIST folder/npz or a MedMNIST .npz)")
    readers = {"mnist": read_mnist, "medmnist": read_medmnist}
    if dataset not in readers:
        raise ConfigError(f"dataset must be digits, mnist or medmnist, got {dataset!r}")
    arrays = readers[dataset](dataset_dir)
    return {split: arrays.split(split) for split in ("train", "test")}, arrays.source


def _normal_classes(dataset: str, dataset_dir: str, normal_classes) -> list[int] | None:
    if dataset == "medmnist":
        return medmnist_normal_classes(dataset_dir, normal_classes)
    if normal_classes != "auto":
        return parse_classes(normal_classes)
    return DEFAULT_NORMAL_CLASSES[dataset]


def _other(other_dataset: str, n: int, size: int, seed: int) -> np.ndarray:
    if not other_dataset:
        return _unit(dicom_patches(n, size, seed), size)
    path = Path(other_dataset)
    reader = read_medmnist if path.suffix == ".npz" and _is_medmnist(path) else read_mnist
    arrays = reader(path).images["test"]
    pick = np.random.default_rng(seed).choice(len(arrays), size=n, replace=len(arrays) < n)
    return _unit(arrays[pick], size)


def _is_medmnist(path: Path) -> bool:
    with np.load(path) as npz:
        return "test_images" in npz.files


def one_class_sets(
    dataset: str = "digits",
    dataset_dir: str = "",
    normal_classes: str | list[int] | None = "auto",
    other_dataset: str = "",
    n_anomalies: int = 500,
    noise_std: float = 0.2,
    image_size: int = 28,
    test_fraction: float = 0.3,
    seed: int = 0,
) -> OneClassSets:
    """Build the sets of one experiment; see the module docstring for the anomaly sets.

    Args:
        dataset: ``"digits"`` (embedded scikit-learn digits), ``"mnist"`` (MNIST/FashionMNIST IDX or npz) or
            ``"medmnist"`` (a MedMNIST .npz). Defaults to ``"digits"``.
        dataset_dir: the file or folder for ``mnist``/``medmnist``. Defaults to "".
        normal_classes: normal labels; ``"auto"``: PneumoniaMNIST 0, OCTMNIST 3, MNIST all, digits 0.
            Defaults to ``"auto"``.
        other_dataset: FashionMNIST (IDX folder or npz) or any MNIST-format or MedMNIST file for the ``other``
            anomalies; empty: pydicom's DICOM test images. Defaults to "".
        n_anomalies: images per anomaly set. Defaults to 500.
        noise_std: std of the Gaussian noise anomalies. Defaults to 0.2.
        image_size: images are resized to this square size. Defaults to 28.
        test_fraction: test share of the embedded digits (the others ship their own test split). Defaults to 0.3.
        seed: seed of splits and sampling. Defaults to 0.

    Raises:
        DataError: a source is missing or malformed, or the labels hold no normal class.
        ConfigError: an unknown data set, or normal classes that cannot be inferred.
    """
    splits, source = _load(dataset, dataset_dir, seed, test_fraction)
    classes = _normal_classes(dataset, dataset_dir, normal_classes)
    (train_x, train_y), (test_x, test_y) = splits["train"], splits["test"]
    normal_train = np.ones(len(train_y), bool) if classes is None else np.isin(train_y, classes)
    normal_test = np.ones(len(test_y), bool) if classes is None else np.isin(test_y, classes)
    if not normal_train.any() or not normal_test.any():
        raise DataError(f"{source}: no image of the normal classes {classes}; labels found {np.unique(train_y)}")
    rng = np.random.default_rng(seed)
    test_normal = _unit(test_x[normal_test], image_size)
    noisy = test_normal[rng.choice(len(test_normal), n_anomalies, replace=len(test_normal) < n_anomalies)]
    anomalies = {
        "other": _other(other_dataset, n_anomalies, image_size, seed),
        "noise": np.clip(noisy + rng.normal(0.0, noise_std, noisy.shape).astype(np.float32), 0.0, 1.0),
    }
    if not normal_test.all():
        real = test_x[~normal_test]
        anomalies["real"] = _unit(real[rng.choice(len(real), n_anomalies, replace=len(real) < n_anomalies)], image_size)
    name = f"digits, normal {classes}" if dataset == "digits" else Path(dataset_dir).name.split(".")[0]
    sets = OneClassSets(_unit(train_x[normal_train], image_size), test_normal, anomalies, source, classes, name)
    logger.info(
        f"{source}: normal {classes or 'all'}, train {len(sets.train)}, test normals {len(test_normal)}, "
        + ", ".join(f"{k} {len(v)}" for k, v in anomalies.items())
    )
    return sets


def one_class_items(
    sets: OneClassSets, names: list[str] | str = "test", input_dir: str = "", image_size: int = 28
) -> list[dict]:
    """Datalist items of some of an experiment's image sets, or of a folder of new images, for scoring one by one.

    Args:
        sets: the experiment's images.
        names: set names among ``train``, ``test_normal`` and the anomaly sets (``other``, ``noise``, ``real``),
            ``"test"``: the test normals and every anomaly set, or ``"all"``: every set. Defaults to ``"test"``.
        input_dir: a plain folder of new images (JPEG, PNG, TIFF, BMP) to score instead; each is read as
            grayscale, its shorter side resized to ``image_size`` and centre-cropped. Defaults to "" (the sets).
        image_size: the network's input size, for ``input_dir``. Defaults to 28.

    Returns:
        ``{"image": (1, S, S), "label": 0 normal | 1 anomalous | -1 unknown, "set": name, "index": position in
        its set, "source": the image file or ""}`` per image (new images are the set ``new``).

    Raises:
        ConfigError: an unknown set name.
        DataError: ``input_dir`` holds no readable image (see :func:`medmonai.data.readers.scans.image_folder`).
    """
    if input_dir:
        files = image_folder(input_dir)
        images = [load_grayscale(item[Keys.IMAGE], image_size) for item in files]
        return [
            {"image": image, "label": -1, "set": "new", "index": i, "source": item[Keys.IMAGE]}
            for i, (image, item) in enumerate(zip(images, files, strict=True))
        ]
    arrays = {"train": sets.train, "test_normal": sets.test_normal, **sets.anomalies}
    groups = {"all": list(arrays), "test": ["test_normal", *sets.anomalies]}
    names = groups.get(names, [names]) if isinstance(names, str) else names
    unknown = [n for n in names if n not in arrays]
    if unknown:
        raise ConfigError(f"unknown image sets {unknown}; this experiment has {sorted(arrays)} (or 'test', 'all')")
    return [
        {"image": image, "label": int(name not in ("train", "test_normal")), "set": name, "index": i, "source": ""}
        for name in names
        for i, image in enumerate(arrays[name])
    ]
