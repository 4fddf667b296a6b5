"""Chest X-ray cohorts as :class:`CohortManifest` tables: NIH ChestX-ray14, CheXpert, and folders of DICOM files.

Each reader keeps one image per subject by default (the first in file order), so subject ids stay unique and
splits by subject hold; ``one_per_subject=False`` keys every image on its own id instead and keeps the subject in
a ``patient`` column (split on that column then). Covariates are numeric: ``sex`` is 0 male / 1 female, ``view``
0 PA / 1 AP, ``age`` in years; anything else (unknown sex, a lateral view) is NaN.

**CheXpert labels.** Each observation is 1 (positive), 0 (negative), -1 (uncertain) or blank (not mentioned in
the report). By default both uncertain and blank become NaN: the report does not say, so neither is counted as a
negative; ``uncertain="zeros"``/``"ones"`` (the U-Zeros and U-Ones policies of the CheXpert paper) and
``blank="zeros"`` (not mentioned = absent) are the common alternatives.
"""

from medmonai.data.readers.chest_xray.chexpert import CHEXPERT_OBSERVATIONS, chexpert_manifest
from medmonai.data.readers.chest_xray.coding import covariate_name
from medmonai.data.readers.chest_xray.dicom_folder import dicom_manifest
from medmonai.data.readers.chest_xray.nih import NIH_FINDINGS, chestxray14_manifest

__all__ = [
    "CHEXPERT_OBSERVATIONS",
    "NIH_FINDINGS",
    "chestxray14_manifest",
    "chexpert_manifest",
    "covariate_name",
    "dicom_manifest",
]
