"""A planted population of embeddings with known structure, and its files in the real on-disk layouts."""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from medmonai.apps.population import write_embeddings

CAUSAL = {"atrophy_up": 3, "atrophy_down": 17, "head": 42}  # planted variant name -> its column


@dataclass
class Population:
    subject_ids: np.ndarray
    matrix: np.ndarray  # (n, dims)
    covariates: dict[str, np.ndarray]  # age, sex, site
    subgroup: np.ndarray  # 0 healthy, 1, 2
    dosages: np.ndarray  # (n, variants) int8
    variant_names: list[str]
    causal: list[str]


def planted_population(
    n: int = 600,
    dims: int = 32,
    n_variants: int = 120,
    seed: int = 0,
    subgroups: bool = True,
    age_signal: bool = True,
    variant_effect: float = 0.35,
) -> Population:
    """Embeddings = factors @ random loadings + noise, with every factor known.

    Factors: atrophy (age + two variants + noise), head size (sex + one variant + noise), site (one-hot, a strong
    nuisance), and two subgroup indicators (disease patterns); with ``age_signal=False`` atrophy carries no age.
    """
    rng = np.random.default_rng(seed)
    age = rng.uniform(45, 80, n)
    sex = rng.integers(0, 2, n).astype(float)
    site = rng.integers(0, 3, n).astype(float)
    subgroup = rng.choice(3, size=n, p=[0.6, 0.2, 0.2]).astype(float) if subgroups else np.zeros(n)
    maf = rng.uniform(0.1, 0.5, n_variants)
    dosages = rng.binomial(2, maf, size=(n, n_variants)).astype(np.int8)
    names = [f"rs{1000 + j}" for j in range(n_variants)]
    centred = dosages - dosages.mean(axis=0)
    atrophy = (age - 62.5) / 10.0 * age_signal + variant_effect * (centred[:, 3] - centred[:, 17])
    atrophy += rng.normal(0, 0.3, n)
    head = -1.0 * sex + variant_effect * centred[:, 42] + rng.normal(0, 0.3, n)
    factors = np.column_stack(
        [atrophy, head, 1.5 * (site == 1), 1.5 * (site == 2), 2.5 * (subgroup == 1), 2.5 * (subgroup == 2)]
    )
    loadings = rng.normal(size=(factors.shape[1], dims))
    matrix = factors @ loadings + rng.normal(0, 0.5, (n, dims))
    ids = np.array([f"sub-{i:05d}" for i in range(n)])
    causal = [names[j] for j in CAUSAL.values()]
    return Population(ids, matrix, {"age": age, "sex": sex, "site": site}, subgroup, dosages, names, causal)


def write_population(folder: Path, population: Population, causal_as: str = "names") -> dict[str, Path]:
    """Embeddings Parquet, manifest CSV (with an image column), genotypes CSV and truth.json, as the study has them."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = {
        "embeddings": folder / "embeddings.parquet",
        "manifest": folder / "manifest.csv",
        "genotypes": folder / "genotypes.csv",
        "truth": folder / "truth.json",
    }
    write_embeddings(paths["embeddings"], population.subject_ids, population.matrix, model="planted")
    with paths["manifest"].open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["subject_id", "image", "age", "sex", "site", "subgroup"])
        for i, sid in enumerate(population.subject_ids):
            c = population.covariates
            writer.writerow(
                [
                    sid,
                    f"volumes/{sid}.nii.gz",
                    f"{c['age'][i]:.3f}",
                    int(c["sex"][i]),
                    int(c["site"][i]),
                    int(population.subgroup[i]),
                ]
            )
    with paths["genotypes"].open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["subject_id", *population.variant_names])
        for sid, row in zip(population.subject_ids, population.dosages, strict=True):
            writer.writerow([sid, *row.tolist()])
    causal = population.causal if causal_as == "names" else [{"variant": v, "effect": 0.35} for v in population.causal]
    paths["truth"].write_text(json.dumps({"causal_variants": causal}))
    return paths
