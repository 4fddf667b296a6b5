import numpy as np
import pytest

from medmonai.apps.one_class import one_class_sets
from medmonai.data import dicom_patches
from medmonai.errors import ConfigError, DataError
from tests.conftest import write_mnist_idx
from tests.data.test_medmnist import write_npz


def test_embedded_digits_experiment_sets():
    sets = one_class_sets(normal_classes="3", n_anomalies=40)
    assert sets.normal_classes == [3] and sets.name == "digits, normal [3]"
    assert sets.train.shape[1:] == (1, 28, 28) and 100 < len(sets.train) < 150
    assert set(sets.anomalies) == {"other", "noise", "real"}
    for images in (sets.train, sets.test_normal, *sets.anomalies.values()):
        assert images.dtype == np.float32 and 0.0 <= images.min() and images.max() <= 1.0
    assert all(len(v) == 40 for v in sets.anomalies.values())


def test_noise_anomalies_are_test_normals_plus_clipped_noise():
    sets = one_class_sets(normal_classes="0", n_anomalies=30, noise_std=0.2, seed=1)
    noisy = sets.anomalies["noise"]
    nearest = np.abs(noisy[:, None] - sets.test_normal[None]).mean((2, 3, 4)).min(1)
    assert nearest.max() < 0.2  # each is close to some test normal...
    assert np.abs(noisy - np.clip(noisy, 0, 1)).max() == 0.0 and nearest.min() > 0.01  # ...but not equal to it


def test_medmnist_defaults_and_other_dataset(tmp_path):
    path = write_npz(tmp_path / "pneumoniamnist.npz", size=64)
    fashion = tmp_path / "fashion"
    write_mnist_idx(fashion)
    sets = one_class_sets("medmnist", str(path), other_dataset=str(fashion), n_anomalies=10)
    assert sets.normal_classes == [0] and sets.name == "pneumoniamnist"
    assert sets.train.shape[1:] == (1, 28, 28)  # the 64x64 variant is resized
    assert len(sets.anomalies["real"]) == 10


def test_mnist_has_no_real_anomalies_when_every_class_is_normal(tmp_path):
    write_mnist_idx(tmp_path)
    sets = one_class_sets("mnist", str(tmp_path), n_anomalies=5)
    assert sets.normal_classes is None and "real" not in sets.anomalies


def test_a_label_set_without_the_normal_class(tmp_path):
    path = write_npz(tmp_path / "octmnist.npz")  # labels are 0 and 1; OCTMNIST's normal class is 3
    with pytest.raises(DataError, match=r"octmnist\.npz: no image of the normal classes \[3\]"):
        one_class_sets("medmnist", str(path))
    with pytest.raises(ConfigError, match="set normal_classes; only PneumoniaMNIST and OCTMNIST have defaults"):
        one_class_sets("medmnist", str(write_npz(tmp_path / "bloodmnist.npz")))
    with pytest.raises(ConfigError, match="needs dataset_dir"):
        one_class_sets("medmnist", "")


def test_dicom_patches_are_real_varied_images():
    patches = dicom_patches(50, size=28, seed=0)
    assert patches.shape == (50, 28, 28) and patches.min() >= 0.0 and patches.max() <= 1.0
    assert (patches.reshape(50, -1).std(1) > 0.01).mean() > 0.9  # almost none is flat background
    assert np.array_equal(patches, dicom_patches(50, size=28, seed=0))
