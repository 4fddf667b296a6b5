import numpy as np
import pandas as pd
import pytest

from medmonai.apps.population import load_study, write_embeddings
from medmonai.data.readers.cohort import CohortManifest
from medmonai.errors import DataError
from tests.apps.population.conftest import planted_population, write_population


def test_subjects_and_covariates_are_checked_against_the_manifest(tmp_path):
    population = planted_population(n=100, dims=8, seed=4)
    paths = write_population(tmp_path / "in", population)
    manifest = pd.read_csv(paths["manifest"])
    manifest.loc[9, "age"] = np.nan
    manifest.to_csv(tmp_path / "holes.csv", index=False)
    with pytest.raises(DataError, match=r"holes.csv: column 'age': missing value for subject 'sub-00009' \(row 10\)"):
        load_study(paths["embeddings"], tmp_path / "holes.csv")
    write_embeddings(tmp_path / "more.parquet", [*population.subject_ids, "sub-new"], np.zeros((101, 4)))
    with pytest.raises(
        DataError, match=r"more.parquet: 1 embedded subject\(s\) are not in the manifest .* \(sub-new\)"
    ):
        load_study(tmp_path / "more.parquet", paths["manifest"])
    with pytest.raises(DataError, match="no 'handedness' column"):
        load_study(paths["embeddings"], paths["manifest"], covariates=("age", "handedness"))
    # a manifest object works as well as its path, and a subset of embedded subjects is fine
    write_embeddings(tmp_path / "half.parquet", population.subject_ids[::2], population.matrix[::2])
    study = load_study(tmp_path / "half.parquet", CohortManifest.read(paths["manifest"]), extra=("subgroup",))
    np.testing.assert_array_equal(study.covariates["age"], np.round(population.covariates["age"][::2], 3))
    assert study.categorical == {"sex", "site", "subgroup"} and len(study.manifest_ids) == 100
