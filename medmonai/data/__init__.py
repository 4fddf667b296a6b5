"""Data sources: readers that turn a source into MONAI datalists. Nothing here downloads."""

from medmonai.data.brain_masks import add_brain_masks
from medmonai.data.brain_sources import brain_mri_datalists, case_name
from medmonai.data.dicom_patches import dicom_patches
from medmonai.data.digit_source import digit_datalists
from medmonai.data.digits import load_embedded_digits
from medmonai.data.embedded_brains import LESION_KINDS, embedded_brains
from medmonai.data.embedded_isles import embedded_siss
from medmonai.data.embedded_oct import embedded_oct
from medmonai.data.in_memory import EpochBatchSampler, StackedDataset
from medmonai.data.io import load_grayscale, unit_range
from medmonai.data.isles import ISLES_MODALITIES, isles_datalist
from medmonai.data.isles_patches import isles_patch_splits, patch_counts, split_cases
from medmonai.data.kermany import OCT_CLASSES, kermany_datalists
from medmonai.data.manifests import read_datalist
from medmonai.data.medmnist import MEDMNIST_KEYS, MedMNISTArrays, read_medmnist
from medmonai.data.mnist import DigitArrays, read_idx, read_mnist, read_mnist_npz
from medmonai.data.one_class import OneClassSets, one_class_items, one_class_sets
from medmonai.data.splits import parse_classes, select_classes, stratified_split
from medmonai.data.volumes import load_volume, volume_loader

__all__ = [
    "add_brain_masks",
    "OCT_CLASSES",
    "kermany_datalists",
    "load_grayscale",
    "unit_range",
    "OneClassSets",
    "dicom_patches",
    "one_class_items",
    "one_class_sets",
    "MEDMNIST_KEYS",
    "MedMNISTArrays",
    "read_medmnist",
    "LESION_KINDS",
    "brain_mri_datalists",
    "case_name",
    "embedded_brains",
    "read_datalist",
    "ISLES_MODALITIES",
    "DigitArrays",
    "EpochBatchSampler",
    "StackedDataset",
    "digit_datalists",
    "embedded_oct",
    "embedded_siss",
    "isles_datalist",
    "isles_patch_splits",
    "patch_counts",
    "load_volume",
    "volume_loader",
    "load_embedded_digits",
    "parse_classes",
    "read_idx",
    "read_mnist",
    "read_mnist_npz",
    "select_classes",
    "split_cases",
    "stratified_split",
]
