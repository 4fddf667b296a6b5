"""The ``population_ssl`` bundle's data: a cohort manifest, preprocessed once into shards, split by subject.

:func:`population_data` is what the bundle's configs build first, before any training:

1. the cohort: the user's manifest (CSV or Parquet with ``subject_id``, image columns and covariates), or, without
   one, the embedded simulated population (:func:`~medmonai.data.synthetic.population.simulate_population`, which
   brings its genotype table and the truth of what was planted);
2. up-front checks, before anything is written: the covariates the analysis needs are numeric, the genotype
   table's subjects match the manifest's, and every row's image header is readable (checked in parallel;
   ``skip_invalid`` skips and logs bad rows instead of stopping);
3. the shard cache (:func:`~medmonai.data.shards.build_shard_cache`): float16, content-addressed, resumable;
4. the splits, by a seeded hash of each subject id (:func:`~medmonai.data.splits.subject_split`), in cache samples.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from medmonai.data.readers.cohort import CohortManifest
from medmonai.data.readers.genotypes import read_genotypes
from medmonai.data.shards import Preprocess, ShardCache, build_shard_cache
from medmonai.data.splits import subject_split
from medmonai.data.synthetic.population import simulate_population
from medmonai.errors import ConfigError, DataError

__all__ = ["PopulationData", "population_data"]

logger = logging.getLogger(__name__)

DEFAULT_FRACTIONS = {"train": 0.7, "val": 0.1, "test": 0.2}


@dataclass
class PopulationData:
    """A cohort ready to train on: its manifest, its shard cache and its subject splits (cache sample indices).

    ``manifest`` holds the cached subjects only, in cache order, so row ``i`` of it is sample ``i`` of ``cache``.
    """

    manifest: CohortManifest
    cache: ShardCache
    splits: dict[str, np.ndarray]
    genotypes: str = ""
    truth: str = ""

    @property
    def subject_ids(self) -> np.ndarray:
        """The cached subjects' ids, in cache order."""
        return np.asarray(self.cache.subject_ids).astype(str)

    def images(self, indices: np.ndarray | Sequence[int]) -> np.ndarray:
        """Cache samples ``indices`` as one float32 ``(n, C, *shape)`` array."""
        return np.stack([self.cache.read(int(i)) for i in indices]).astype(np.float32)

    def split_rows(self, name: str) -> np.ndarray:
        """The cache samples of split ``name``."""
        if name not in self.splits:
            raise ConfigError(f"no split {name!r}; the splits are {sorted(self.splits)}")
        return self.splits[name]


def _check_genotypes(path: str, subject_ids: np.ndarray) -> None:
    read_genotypes(path, subject_ids)


def population_data(
    manifest: str | Path = "",
    cache_dir: str | Path = "",
    root: str | Path = "",
    shape: Sequence[int] = (40, 48, 40),
    image_columns: Sequence[str] | str = ("image",),
    covariates: Sequence[str] = (),
    genotypes: str | Path = "",
    truth: str | Path = "",
    normalize: str = "zscore",
    resize: str = "pad_crop",
    fractions: Mapping[str, float] | None = None,
    n_subjects: int = 500,
    data_cache_dir: str | Path | None = None,
    skip_invalid: bool = False,
    rebuild_cache: bool = False,
    workers: int = 0,
    check_workers: int = 4,
    validation_report: str | Path = "",
    seed: int = 0,
) -> PopulationData:
    """Read, check and cache a cohort (see the module docstring).

    Args:
        manifest: the cohort's CSV or Parquet; empty: the embedded simulated population.
        cache_dir: the shard cache folder (one per preprocessing setting).
        root: the folder relative image paths start from; empty: the manifest's folder. Defaults to "".
        shape: the spatial shape every image is brought to (3 sizes for volumes, 2 for X-rays).
        image_columns: the manifest's image columns, stacked as channels. Defaults to ``("image",)``.
        covariates: covariate columns that must be numeric (the analysis needs them). Defaults to ().
        genotypes: a genotype CSV (``subject_id`` + variant dosages) to check against the manifest; the embedded
            population brings its own. Defaults to "".
        truth: a JSON of planted truth (simulations only). Defaults to "".
        normalize: intensity normalisation of :class:`~medmonai.data.shards.Preprocess`. Defaults to "zscore".
        resize: how images reach ``shape`` (``pad_crop``, ``resize``, ``fit``). Defaults to "pad_crop".
        fractions: subject split fractions. Defaults to train 0.7, val 0.1, test 0.2.
        n_subjects: size of the embedded population. Defaults to 500.
        data_cache_dir: where the embedded population is generated. Defaults to None (the medmonai cache).
        skip_invalid: skip (and log) rows whose image is missing or unreadable instead of stopping. Defaults to
            False.
        rebuild_cache: replace a cache of other settings in ``cache_dir`` instead of refusing it. Defaults to False.
        workers: threads preprocessing images. Defaults to 0.
        check_workers: threads checking image headers up front. Defaults to 4.
        validation_report: a CSV written with one line per bad image (row, file row, subject, column, file,
            problem; only the header when all is well), before the run stops or skips them. Defaults to "" (none).
        seed: the split's (and the embedded population's) seed. Defaults to 0.

    Raises:
        DataError: a bad manifest, covariate, genotype table or image (naming the file, row or column).
        ConfigError: a setting out of range, or a cache of other settings in ``cache_dir``.
    """
    columns = [image_columns] if isinstance(image_columns, str) else list(image_columns)
    shape = tuple(int(s) for s in shape)
    if not cache_dir:
        raise ConfigError("cache_dir is empty: the preprocessed shards need a folder")
    if not manifest:
        if len(shape) != 3:
            raise ConfigError(f"the embedded population is 3-D; shape must have 3 sizes, got {list(shape)}")
        folder = simulate_population(data_cache_dir or None, n_subjects=n_subjects, shape=shape, seed=seed)
        manifest, genotypes, truth = folder / "manifest.csv", folder / "genotypes.csv", folder / "truth.json"
    cohort = CohortManifest.read(manifest, image_columns=columns, root=root or None, spatial_dims=len(shape))
    cohort.covariates(list(covariates))  # non-numeric covariates fail here, before anything is cached
    if genotypes:
        _check_genotypes(str(genotypes), cohort.subject_ids)
    if truth and not Path(truth).is_file():
        raise DataError(f"{truth}: truth file not found")
    preprocess = Preprocess(shape, spatial_dims=len(shape), normalize=normalize, resize=resize)
    bad = cohort.validate(workers=check_workers, report=validation_report or None)
    if bad and not skip_invalid:
        first = bad[0]
        raise DataError(
            f"{cohort.source}: row {first['file_row']} (subject {first['subject_id']!r}), column {first['column']!r}: "
            f"{first['file']}: {first['problem']} ({len(bad)} bad in all; --skip_invalid true leaves them out)"
        )
    cache = build_shard_cache(
        cohort,
        cache_dir,
        preprocess,
        workers=workers,
        skip_invalid=skip_invalid,
        rebuild=rebuild_cache,
        check_rows=skip_invalid,
    )
    kept = np.asarray(cache.rows, dtype=np.int64)
    if len(cache.skipped):
        logger.warning(f"{cohort.source}: {len(cache.skipped)} rows skipped (see {Path(cache_dir) / 'cache.json'})")
    rows = subject_split(cohort.subject_ids, dict(fractions or DEFAULT_FRACTIONS), seed)
    splits = {name: cache.indices_for_rows(np.sort(r)) for name, r in rows.items()}
    logger.info(
        f"{cohort.source}: {len(cache)} subjects cached; " + ", ".join(f"{k} {len(v)}" for k, v in splits.items())
    )
    return PopulationData(
        manifest=cohort.take(kept),
        cache=cache,
        splits=splits,
        genotypes=str(genotypes or ""),
        truth=str(truth or ""),
    )
