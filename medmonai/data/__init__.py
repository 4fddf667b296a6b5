"""Data: readers that turn a source into datalists, the embedded synthetic data, splits, I/O and datasets.

- :mod:`~medmonai.data.readers`: one reader per source; all follow one datalist contract (see there);
- :mod:`~medmonai.data.synthetic`: the generated embedded defaults (brain phantoms and slices, ISLES-like cases,
  OCT B-scans);
- :mod:`~medmonai.data.splits`: seeded splits by class, case and patient;
- :mod:`~medmonai.data.io`: reading files by format: 2-D images, 3-D volumes, headers and tables;
- :mod:`~medmonai.data.datasets`: in-memory datasets and the epoch batch sampler.

Nothing here downloads.
"""

from medmonai.data.datasets import EpochBatchSampler, StackedDataset
from medmonai.data.io.pictures import load_grayscale, unit_range
from medmonai.data.io.planes import load_plane
from medmonai.data.io.volumes import load_volume, volume_loader
from medmonai.data.readers.arrays import SplitArrays, array_datalist
from medmonai.data.readers.brain import case_name, check_cases, raise_for_failed
from medmonai.data.readers.chest_xray import chestxray14_manifest, chexpert_manifest, dicom_manifest
from medmonai.data.readers.cohort import CohortManifest
from medmonai.data.readers.dicom import dicom_patches
from medmonai.data.readers.digits import digit_datalists, load_embedded_digits
from medmonai.data.readers.image_sets import image_set
from medmonai.data.readers.isles import ISLES_MODALITIES, isles_datalist
from medmonai.data.readers.kermany import kermany_datalists
from medmonai.data.readers.manifests import read_datalist
from medmonai.data.readers.medmnist import (
    MEDMNIST_KEYS,
    MEDMNIST_NORMAL_CLASSES,
    medmnist_normal_classes,
    read_medmnist,
)
from medmonai.data.readers.mnist import read_idx, read_mnist, read_mnist_npz
from medmonai.data.shards import Preprocess, ShardCache, build_shard_cache
from medmonai.data.splits import (
    parse_classes,
    select_classes,
    split_by_group,
    split_cases,
    stratified_split,
    subject_split,
)
from medmonai.data.streaming import ShardStream, batches_per_epoch
from medmonai.data.synthetic.embedded_brains import LESION_KINDS, embedded_brains
from medmonai.data.synthetic.embedded_isles import embedded_siss
from medmonai.data.synthetic.embedded_oct import embedded_oct
from medmonai.data.synthetic.embedded_slices import embedded_brain_slices
from medmonai.data.synthetic.population import simulate_population
from medmonai.data.synthetic.retina import OCT_CLASSES

__all__ = [
    "CohortManifest",
    "Preprocess",
    "ShardCache",
    "ShardStream",
    "batches_per_epoch",
    "build_shard_cache",
    "chestxray14_manifest",
    "chexpert_manifest",
    "dicom_manifest",
    "simulate_population",
    "subject_split",
    "ISLES_MODALITIES",
    "LESION_KINDS",
    "MEDMNIST_KEYS",
    "MEDMNIST_NORMAL_CLASSES",
    "OCT_CLASSES",
    "EpochBatchSampler",
    "SplitArrays",
    "StackedDataset",
    "array_datalist",
    "check_cases",
    "raise_for_failed",
    "case_name",
    "dicom_patches",
    "digit_datalists",
    "embedded_brain_slices",
    "embedded_brains",
    "embedded_oct",
    "embedded_siss",
    "image_set",
    "isles_datalist",
    "kermany_datalists",
    "load_embedded_digits",
    "load_grayscale",
    "load_plane",
    "medmnist_normal_classes",
    "load_volume",
    "parse_classes",
    "read_datalist",
    "read_idx",
    "read_medmnist",
    "read_mnist",
    "read_mnist_npz",
    "select_classes",
    "split_by_group",
    "split_cases",
    "stratified_split",
    "unit_range",
    "volume_loader",
]
