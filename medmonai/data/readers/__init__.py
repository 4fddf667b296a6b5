"""Readers: one per data source, each turning what is on disk into datalists. Nothing here downloads.

**The datalist contract.** A reader returns a datalist, or ``{split: datalist}`` with splits among ``train``,
``val`` and ``test``. A datalist is a list of dicts, one per image or case, with:

- ``image``: a file path, or an in-memory array ``(C, H, W[, D])`` float32 in [0, 1];
- ``label`` where the source has one: an ``int`` class (0 is normal) for 2-D images, or the path of a lesion
  mask for volumes; an unlabelled item has no ``label``;
- optional keys naming where the item came from: ``case_id``, ``patient``, ``class``, ``brain_mask``, ``kind``.

MONAI's ``Dataset`` and transforms take these lists as they are. Array sources (MNIST, MedMNIST, the embedded
scikit-learn digits) are read into :class:`SplitArrays` first, split as they ship; :func:`array_datalist` turns
any of their splits into the same items. Every reader raises :class:`medmonai.errors.DataError` naming the file
when the source is missing or malformed.
"""

from medmonai.data.readers.arrays import SplitArrays, array_datalist
from medmonai.data.readers.brain import case_name, check_cases, raise_for_failed
from medmonai.data.readers.dicom import dicom_patches
from medmonai.data.readers.digits import EMBEDDED_DIGITS_SOURCE, digit_datalists, load_embedded_digits
from medmonai.data.readers.image_sets import image_set
from medmonai.data.readers.isles import ISLES_MODALITIES, isles_datalist
from medmonai.data.readers.kermany import kermany_datalists, patient_id
from medmonai.data.readers.manifests import PATH_KEYS, read_datalist
from medmonai.data.readers.medmnist import (
    MEDMNIST_KEYS,
    MEDMNIST_NORMAL_CLASSES,
    medmnist_normal_classes,
    read_medmnist,
)
from medmonai.data.readers.mnist import read_idx, read_mnist, read_mnist_npz

__all__ = [
    "EMBEDDED_DIGITS_SOURCE",
    "ISLES_MODALITIES",
    "MEDMNIST_KEYS",
    "MEDMNIST_NORMAL_CLASSES",
    "PATH_KEYS",
    "SplitArrays",
    "array_datalist",
    "check_cases",
    "raise_for_failed",
    "case_name",
    "dicom_patches",
    "digit_datalists",
    "image_set",
    "isles_datalist",
    "kermany_datalists",
    "load_embedded_digits",
    "medmnist_normal_classes",
    "patient_id",
    "read_datalist",
    "read_idx",
    "read_medmnist",
    "read_mnist",
    "read_mnist_npz",
]
