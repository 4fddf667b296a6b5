"""ISLES 2015 cases as labelled patch datalists, split by case."""

from __future__ import annotations

import logging

from medmonai.data.io import load_volume
from medmonai.data.readers.isles import ISLES_MODALITIES, isles_datalist
from medmonai.data.splits import split_cases
from medmonai.data.synthetic.embedded_isles import embedded_siss
from medmonai.errors import ConfigError, DataError
from medmonai.keys import Keys
from medmonai.transforms.channel import SelectModalityd
from medmonai.transforms.intensity import SimpleITKNormalized
from medmonai.transforms.patch import LesionGridPatchd

__all__ = ["isles_patch_splits", "patch_counts"]

logger = logging.getLogger(__name__)


def isles_patch_splits(
    dataset_dir: str | None = "",
    modality: str = "dwi",
    patch_dims: int = 2,
    patch_size: int = 28,
    test_fraction: float = 0.3,
    val_fraction: float = 0.1,
    seed: int = 0,
    min_foreground_fraction: float = 0.25,
    min_lesion_fraction: float = 0.0,
    foreground: str = "otsu",
    lower_percentile: float = 0.5,
    upper_percentile: float = 99.5,
    skip_invalid_cases: bool = False,
    n_embedded_cases: int = 12,
    cache_dir: str | None = None,
) -> dict[str, list[dict]]:
    """Read ISLES cases, split them by case, normalise one modality and cut non-overlapping patches.

    Each volume is normalised with :class:`SimpleITKNormalize` (z-score in its Otsu foreground, percentile clip,
    [0, 1]) and cut by :class:`LesionGridPatchd` into ``patch_size`` squares of every axial slice
    (``patch_dims=2``) or cubes (``patch_dims=3``); patches with less than ``min_foreground_fraction``
    foreground are dropped. No case contributes to two splits. Lesion labels are carried for evaluation only.

    Args:
        dataset_dir: ``SISS2015_Training`` folder; empty for the embedded MNI152-based default. Defaults to "".
        modality: ``"dwi"``, ``"flair"``, ``"t1"`` or ``"t2"``. Defaults to ``"dwi"``.
        patch_dims: 2 or 3. Defaults to 2.
        patch_size: patch edge in voxels. Defaults to 28.
        test_fraction: share of cases for testing. Defaults to 0.3.
        val_fraction: share of cases for validation. Defaults to 0.1.
        seed: case split seed (and embedded data seed). Defaults to 0.
        min_foreground_fraction: patches below this foreground share are dropped. Defaults to 0.25.
        min_lesion_fraction: a patch is ``label`` 1 when its lesion share exceeds this. Defaults to 0.0.
        foreground: normalisation foreground, ``"otsu"``, ``"nonzero"`` or ``"all"``. Defaults to ``"otsu"``.
        lower_percentile: normalisation clip, lower. Defaults to 0.5.
        upper_percentile: normalisation clip, upper. Defaults to 99.5.
        skip_invalid_cases: skip cases that fail validation. Defaults to False.
        n_embedded_cases: cases of the embedded default. Defaults to 12.
        cache_dir: cache of the embedded default. Defaults to ``$MEDMONAI_CACHE`` or ``~/.cache/medmonai``.

    Returns:
        ``{"train", "val", "test"}`` patch datalists; each patch is ``{"image": (1, P, P[, P]) float32 in [0, 1],
        "label": 0 or 1, "lesion_fraction", "foreground_fraction", "location", "case_id"}``.

    Raises:
        DataError: unreadable or invalid cases (see :func:`isles_datalist`), all-NaN or constant volumes, or a
            split without patches.
        ConfigError: bad ``modality``, ``patch_dims`` or fractions.
    """
    if modality not in ISLES_MODALITIES:
        raise ConfigError(f"modality must be one of {list(ISLES_MODALITIES)}, got {modality!r}")
    if patch_dims not in (2, 3):
        raise ConfigError(f"patch_dims must be 2 or 3, got {patch_dims!r}")
    root = dataset_dir or embedded_siss(cache_dir, n_cases=n_embedded_cases, seed=seed)
    cases = isles_datalist(root, modalities=(modality,), skip_invalid_cases=skip_invalid_cases)
    split = split_cases([c["case_id"] for c in cases], test_fraction, val_fraction, seed)
    select = SelectModalityd(modality)
    normalize = SimpleITKNormalized(
        keys=Keys.IMAGE,
        foreground_key="foreground",
        foreground=foreground,
        lower_percentile=lower_percentile,
        upper_percentile=upper_percentile,
    )
    cutter = LesionGridPatchd(
        patch_size=(patch_size, patch_size, 1) if patch_dims == 2 else (patch_size,) * 3,
        foreground_key="foreground",
        min_foreground_fraction=min_foreground_fraction,
        min_lesion_fraction=min_lesion_fraction,
    )
    by_id = {c["case_id"]: c for c in cases}
    out = {}
    for name, ids in split.items():
        patches = []
        for case_id in ids:
            volumes = {key: load_volume(path) for key, path in by_id[case_id].items() if key != "case_id"}
            patches += cutter(normalize(select({**volumes, "case_id": case_id})))
        if not patches:
            raise DataError(f"{root}: no patches in the {name} split (cases {ids}); lower min_foreground_fraction")
        out[name] = patches
        n_lesion = sum(p[Keys.LABEL] for p in patches)
        logger.info(f"ISLES {name}: cases {ids}, {len(patches)} patches, {n_lesion} with lesion")
    return out


def patch_counts(splits: dict[str, list[dict]]) -> dict[str, int]:
    """The report's patch counts: training and test patches, and test patches labelled as lesion."""
    return {
        "n_patches_train": len(splits["train"]),
        "n_patches_test": len(splits["test"]),
        "n_lesion_patches_test": int(sum(int(p["label"]) for p in splits["test"])),
    }
