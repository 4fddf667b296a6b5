"""The planted generative model of the simulated population: sites, factors, genotypes and their effects.

Every planted number :mod:`medmonai.data.synthetic.population` documents is here; ``truth.json`` repeats them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = [
    "AGE_RANGE",
    "CAUSAL_EFFECTS",
    "SITES",
    "SUBGROUPS",
    "SUBGROUP_SHARES",
    "Site",
    "draw_factors",
    "draw_genotypes",
]


@dataclass(frozen=True)
class Site:
    """One scanner site's intensity model (a nuisance the analysis adjusts for).

    Attributes:
        means: intensity of CSF, cortical GM, WM and deep GM, as fractions of the brightest tissue.
        bias_axis: the voxel axis along which the site's bias field changes.
        bias: log-intensity change from the brain's centre to its edge along ``bias_axis``.
        noise: Gaussian noise standard deviation, as a fraction of the brightest tissue.
        gain: intensity scale before rounding to int16.
    """

    means: tuple[float, float, float, float]
    bias_axis: int
    bias: float
    noise: float
    gain: float


AGE_RANGE = (45.0, 80.0)  # years, uniform
SUBGROUPS = {0: "healthy", 1: "left_temporal_atrophy", 2: "frontal_white_matter_lesions"}
SUBGROUP_SHARES = (0.6, 0.2, 0.2)
SITES = (
    Site(means=(0.15, 0.52, 0.85, 0.68), bias_axis=0, bias=0.10, noise=0.015, gain=1000.0),
    Site(means=(0.22, 0.58, 0.87, 0.73), bias_axis=1, bias=0.15, noise=0.025, gain=1300.0),
    Site(means=(0.10, 0.47, 0.80, 0.62), bias_axis=2, bias=0.12, noise=0.020, gain=800.0),
)
CAUSAL_EFFECTS = (  # (factor, shift per allele)
    ("ventricle_atrophy", 0.2),  # larger ventricles: those of 7 more years of ageing per allele
    ("ventricle_atrophy", -0.2),  # smaller ventricles (protective)
    ("head_scale", 0.015),  # 1.5% larger head (linear) per allele
    ("subgroup_1_log_odds", round(math.log(4.0), 4)),  # odds ratio 4 per allele for left temporal atrophy
    ("subgroup_2_log_odds", round(math.log(4.0), 4)),  # odds ratio 4 per allele for frontal white-matter lesions
    ("severity", 0.3),  # stronger subgroup pattern (subjects of subgroups 1 and 2 only)
)
ATROPHY_SD = 0.04  # atrophy not explained by age, atrophy units
SHRINK = 0.08  # linear brain shrinkage per atrophy unit
VENTRICLE_MM = 8.0  # outward flow of the ventricle walls per atrophy unit
THINNING = 1.0  # fraction of the cortical grey matter at the surface turned into CSF per atrophy unit
CORTEX_MM = 14.0  # the thinning fades as exp(-depth / this) below the brain surface
HEAD_FEMALE, HEAD_SD = -0.04, 0.02
SEVERITY = (0.5, 1.0)
TEMPORAL = {"centre_mni": (-44.0, -18.0, -16.0), "sigma_mm": 22.0, "contraction": 1.2, "thinning": 1.0}
FRONTAL = {
    "centres_mni": ((-26.0, 24.0, 22.0), (26.0, 24.0, 22.0)),
    "sigma_mm": 18.0,
    "intensity_loss": 0.6,
    "max_loss": 0.85,
}
STRENGTH = 0.2  # individual anatomy: strength of the generator's random deformation
JITTER, SUBJECT_BIAS, TEXTURE = 0.02, 0.04, 0.02  # per-subject tissue-mean jitter, bias-field and texture std
MAF, CAUSAL_MAF = (0.05, 0.5), (0.25, 0.5)
FACTOR_MEANING = {  # what a causal variant's effect is in, and on whom it acts
    "ventricle_atrophy": "atrophy units of ventricle expansion (1 = that of 35 years of ageing); every subject",
    "head_scale": "linear scale of skull and brain; every subject",
    "subgroup_1_log_odds": "log odds of subgroup 1 against healthy, per allele above the mean dosage; every subject",
    "subgroup_2_log_odds": "log odds of subgroup 2 against healthy, per allele above the mean dosage; every subject",
    "severity": "severity of the subgroup pattern; subjects of subgroups 1 and 2 only",
}


def draw_genotypes(n: int, n_variants: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(dosages, maf, causal)``: int8 ``(n, variants)`` 0/1/2 dosages, allele frequencies, causal columns.

    Dosages are Binomial(2, maf), Hardy-Weinberg proportions; ``causal[k]`` is the column of ``CAUSAL_EFFECTS[k]``.
    """
    maf = rng.uniform(*MAF, n_variants)
    causal = rng.choice(n_variants, len(CAUSAL_EFFECTS), replace=False)
    maf[causal] = rng.uniform(*CAUSAL_MAF, len(causal))
    return rng.binomial(2, maf, size=(n, n_variants)).astype(np.int8), maf, causal


def draw_factors(dosages: np.ndarray, maf: np.ndarray, causal: np.ndarray, rng: np.random.Generator) -> dict:
    """Per-subject planted factors (arrays of length n) from independent draws and the causal variants."""
    n = len(dosages)
    age = np.round(rng.uniform(*AGE_RANGE, n), 1)
    sex, site = rng.integers(0, 2, n), rng.integers(0, len(SITES), n)
    shifts = {factor: np.zeros(n) for factor, _ in CAUSAL_EFFECTS}
    for (factor, effect), column in zip(CAUSAL_EFFECTS, causal, strict=True):
        centring = 2.0 * maf[column] if factor.endswith("log_odds") else 0.0  # risk centred: shares stay put
        shifts[factor] += effect * (dosages[:, column] - centring)
    atrophy = (age - AGE_RANGE[0]) / (AGE_RANGE[1] - AGE_RANGE[0]) + ATROPHY_SD * rng.standard_normal(n)
    head_scale = 1.0 + HEAD_FEMALE * sex + shifts["head_scale"] + HEAD_SD * rng.standard_normal(n)
    logits = np.tile(np.log(np.asarray(SUBGROUP_SHARES) / SUBGROUP_SHARES[0]), (n, 1))
    logits[:, 1] += shifts["subgroup_1_log_odds"]
    logits[:, 2] += shifts["subgroup_2_log_odds"]
    shares = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    subgroup = (rng.random(n)[:, None] > np.cumsum(shares, 1)[:, :-1]).sum(1)
    severity = np.where(subgroup > 0, rng.uniform(*SEVERITY, n) + shifts["severity"], 0.0)
    return {
        "age": age,
        "sex": sex,
        "site": site,
        "subgroup": subgroup,
        "severity": severity,
        "atrophy": atrophy,
        "ventricle_atrophy": atrophy + shifts["ventricle_atrophy"],
        "head_scale": head_scale,
    }
