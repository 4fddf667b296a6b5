"""Reading files by format: one home for every file format the readers, transforms and engines open.

- :mod:`~medmonai.data.io.pictures`: 2-D pictures (PNG, JPEG, TIFF, BMP): checks, grayscale loading, raw pixels;
- :mod:`~medmonai.data.io.dicom`: DICOM series folders, single files' headers and single-frame images;
- :mod:`~medmonai.data.io.headers`: image headers without voxels: 3-D grids checked for plausibility and
  agreement, and the image size of any format;
- :mod:`~medmonai.data.io.volumes`: 3-D volumes as MetaTensors (:func:`load_volume`), NIfTI as RAS arrays;
- :mod:`~medmonai.data.io.planes`: one 2-D plane of a picture, DICOM image or NIfTI volume (:func:`load_plane`);
- :mod:`~medmonai.data.io.tables`: CSV and Parquet tables into pyarrow.
"""

from medmonai.data.io.dicom import (
    DICOM_SUFFIXES,
    dicom_series_files,
    read_dicom_header,
    read_dicom_plane,
    read_dicom_series,
)
from medmonai.data.io.headers import (
    NIFTI_SUFFIXES,
    ImageHeader,
    check_same_grid,
    check_spacing,
    image_header_shape,
    image_shape_or_problem,
    read_header,
)
from medmonai.data.io.pictures import IMAGE_SUFFIXES, check_images, load_grayscale, read_picture, unit_range
from medmonai.data.io.planes import PLANE_SUFFIXES, file_stem, load_plane, plane_kind, volume_plane
from medmonai.data.io.tables import read_csv_rows, read_manifest_table, require_pyarrow
from medmonai.data.io.volumes import VOLUME_SUFFIXES, load_volume, ras_affine, read_nifti_ras, volume_loader

__all__ = [
    "DICOM_SUFFIXES",
    "IMAGE_SUFFIXES",
    "NIFTI_SUFFIXES",
    "PLANE_SUFFIXES",
    "VOLUME_SUFFIXES",
    "ImageHeader",
    "check_images",
    "check_same_grid",
    "check_spacing",
    "dicom_series_files",
    "file_stem",
    "image_header_shape",
    "image_shape_or_problem",
    "load_grayscale",
    "load_plane",
    "load_volume",
    "plane_kind",
    "ras_affine",
    "read_dicom_header",
    "read_dicom_plane",
    "read_dicom_series",
    "read_header",
    "read_csv_rows",
    "read_manifest_table",
    "read_nifti_ras",
    "read_picture",
    "require_pyarrow",
    "unit_range",
    "volume_loader",
    "volume_plane",
]
