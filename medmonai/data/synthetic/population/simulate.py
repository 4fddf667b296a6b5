"""Writing the simulated population's folder once per setting: manifest, genotypes, truth and one volume a subject."""

from __future__ import annotations

import csv
import io
import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch
from threadpoolctl import threadpool_limits

from medmonai.data.cache import cached_folder
from medmonai.data.synthetic.population.anatomy import Reference, reference_anatomy, subject_image
from medmonai.data.synthetic.population.model import (
    AGE_RANGE,
    ATROPHY_SD,
    CAUSAL_EFFECTS,
    CAUSAL_MAF,
    CORTEX_MM,
    FACTOR_MEANING,
    FRONTAL,
    HEAD_FEMALE,
    HEAD_SD,
    JITTER,
    MAF,
    SEVERITY,
    SHRINK,
    SITES,
    STRENGTH,
    SUBGROUP_SHARES,
    SUBGROUPS,
    SUBJECT_BIAS,
    TEMPORAL,
    TEXTURE,
    THINNING,
    VENTRICLE_MM,
    draw_factors,
    draw_genotypes,
)
from medmonai.data.synthetic.template import brain_sources, generator_version, save_volume
from medmonai.errors import ConfigError

__all__ = ["simulate_population"]

logger = logging.getLogger(__name__)


def _population_version() -> str:
    """The brain phantoms' code version plus this package's: a change to either regenerates the population."""
    return generator_version([*brain_sources(), *Path(__file__).parent.glob("*.py")])


_MIN_SUBJECTS, _SHAPE_RANGE = 20, (16, 96)  # beyond 96 voxels the grid is finer than the template
_COLUMNS = {  # manifest columns after the image, with their format
    "age": ".1f",
    "sex": "d",
    "site": "d",
    "subgroup": "d",
    "severity": ".4f",
    "atrophy": ".4f",
    "ventricle_atrophy": ".4f",
    "head_scale": ".4f",
}


def _check(n_subjects: int, shape: tuple[int, ...], n_variants: int, seed: int) -> tuple[int, int, int]:
    """Validate the arguments (ConfigError naming the bad one); returns ``shape`` as a tuple of 3 ints."""

    def whole(value) -> bool:
        return isinstance(value, (int, np.integer)) and not isinstance(value, bool)

    if not whole(n_subjects) or n_subjects < _MIN_SUBJECTS:
        raise ConfigError(f"simulate_population: n_subjects must be an integer >= {_MIN_SUBJECTS}, got {n_subjects!r}")
    low, high = _SHAPE_RANGE
    dims = tuple(shape) if isinstance(shape, (tuple, list, np.ndarray)) else ()
    if len(dims) != 3 or not all(whole(s) and low <= s <= high for s in dims):
        raise ConfigError(f"simulate_population: shape must be 3 integers in [{low}, {high}], got {shape!r}")
    if not whole(n_variants) or n_variants < len(CAUSAL_EFFECTS):
        raise ConfigError(
            f"simulate_population: n_variants must be an integer >= {len(CAUSAL_EFFECTS)} (the causal ones), "
            f"got {n_variants!r}"
        )
    if not whole(seed) or seed < 0:
        raise ConfigError(f"simulate_population: seed must be an integer >= 0, got {seed!r}")
    return tuple(int(s) for s in dims)


def _names(prefix: str, count: int) -> list[str]:
    width = max(3, len(str(count - 1)))
    return [f"{prefix}{i:0{width}d}" for i in range(count)]


def _manifest(names: list[str], factors: dict, measured: list[dict]) -> bytes:
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(["subject_id", "image", *_COLUMNS, "brain_ml", "ventricle_ml"])
    for i, name in enumerate(names):
        values = [format(factors[column][i], spec) for column, spec in _COLUMNS.items()]
        volumes = [f"{measured[i]['brain_ml']:.1f}", f"{measured[i]['ventricle_ml']:.2f}"]
        writer.writerow([name, f"volumes/{name}.nii.gz", *values, *volumes])
    return text.getvalue().encode()


def _genotype_table(names: list[str], variants: list[str], dosages: np.ndarray) -> bytes:
    lines = [",".join(["subject_id", *variants])]
    lines += [f"{name}," + ",".join(map(str, row)) for name, row in zip(names, dosages.tolist(), strict=True)]
    return ("\n".join(lines) + "\n").encode()


def _truth(ref: Reference, variants: list[str], maf: np.ndarray, causal: np.ndarray, setting: dict) -> dict:
    """The generative model, its constants and the causal variants, as ``truth.json`` holds them."""
    return {
        "name": "medmonai simulated population (SYNTHETIC phantoms from the MNI152 template)",
        "synthetic": True,
        **setting,
        "voxel_mm": round(ref.voxel_mm, 4),
        "generator": _population_version(),
        "covariates": {
            "age": f"years, uniform in {list(AGE_RANGE)}",
            "sex": "0 male, 1 female",
            "site": f"0 to {len(SITES) - 1}, equally likely; a nuisance (contrast, bias field, noise, gain)",
        },
        "columns": {
            "observed": ["age", "sex", "site"],
            "planted_truth": ["subgroup", "severity", "atrophy", "ventricle_atrophy", "head_scale"],
            "measured_truth": ["brain_ml", "ventricle_ml"],
        },
        "factors": {
            "atrophy": {
                "formula": f"(age - {AGE_RANGE[0]:g}) / {AGE_RANGE[1] - AGE_RANGE[0]:g} + N(0, sd^2)",
                "sd": ATROPHY_SD,
                "shrink_per_unit": SHRINK,
                "cortical_thinning_per_unit": THINNING,
                "thinning_depth_mm": CORTEX_MM,
            },
            "ventricle_atrophy": {
                "formula": "atrophy + sum(effect * dosage)",
                "ventricle_wall_mm_per_unit": VENTRICLE_MM,
            },
            "head_scale": {
                "formula": "1 + female * sex + sum(effect * dosage) + N(0, sd^2)",
                "female": HEAD_FEMALE,
                "sd": HEAD_SD,
            },
            "subgroup": {
                "labels": {str(k): v for k, v in SUBGROUPS.items()},
                "shares": list(SUBGROUP_SHARES),
                "log_odds": "log(share_k / share_0) + effect * (dosage - 2 maf), k = 1, 2",
                "severity": f"uniform in {list(SEVERITY)} + sum(effect * dosage) in subgroups 1 and 2, else 0",
                "left_temporal_atrophy": TEMPORAL,
                "frontal_white_matter_lesions": FRONTAL,
            },
            "sites": [asdict(site) for site in SITES],
            "individual": {
                "deformation_strength": STRENGTH,
                "tissue_mean_jitter": JITTER,
                "bias_field_sd": SUBJECT_BIAS,
                "texture_sd": TEXTURE,
            },
        },
        "genotypes": {
            "n_variants": len(variants),
            "maf_range": list(MAF),
            "causal_maf_range": list(CAUSAL_MAF),
            "model": "dosage ~ Binomial(2, maf) (Hardy-Weinberg)",
            "maf": {name: round(float(f), 4) for name, f in zip(variants, maf, strict=True)},
        },
        "causal_variants": [
            {
                "variant": variants[column],
                "maf": round(float(maf[column]), 4),
                "factor": factor,
                "effect_per_allele": effect,
                "meaning": FACTOR_MEANING[factor],
            }
            for (factor, effect), column in zip(CAUSAL_EFFECTS, causal, strict=True)
        ],
    }


@contextmanager
def _one_thread() -> Iterator[None]:
    """Run torch and BLAS on one thread: the volumes are small, and a second thread only contends for the cores."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with threadpool_limits(limits=1):
            yield
    finally:
        torch.set_num_threads(threads)


def _generate(staging: Path, ref: Reference, n_subjects: int, n_variants: int, seed: int) -> tuple[dict, dict]:
    """Draw the population and write every volume into ``staging/volumes``; returns the draws and the files."""
    rng = np.random.default_rng([seed, 0])
    dosages, maf, causal = draw_genotypes(n_subjects, n_variants, rng)
    factors = draw_factors(dosages, maf, causal, rng)
    names, variants = _names("sub", n_subjects), _names("var", n_variants)
    (staging / "volumes").mkdir()
    measured = []
    for i, name in enumerate(names):
        subject = {key: values[i] for key, values in factors.items()}
        volume, volumes = subject_image(ref, subject, np.random.default_rng([seed, 1, i]))
        save_volume(volume, ref.affine, staging / "volumes" / f"{name}.nii.gz")
        measured.append(volumes)
    files = {
        "manifest.csv": _manifest(names, factors, measured),
        "genotypes.csv": _genotype_table(names, variants, dosages),
    }
    return {"variants": variants, "maf": maf, "causal": causal}, files


def simulate_population(
    cache_dir: str | Path | None = None,
    n_subjects: int = 500,
    shape: tuple[int, int, int] | list[int] = (40, 48, 40),
    seed: int = 0,
    n_variants: int = 200,
) -> Path:
    """Return the folder of a simulated population with planted factors, generating it on first use.

    Args:
        cache_dir: where generated data sets live. Defaults to ``$MEDMONAI_CACHE`` or ``~/.cache/medmonai``.
        n_subjects: subjects, >= 20. Defaults to 500.
        shape: the volumes' grid ``(X, Y, Z)``, each in [16, 160]; the voxel size follows (the brain plus a margin
            fills the grid): 40x48x40 gives 4.2 mm voxels. Defaults to (40, 48, 40).
        seed: generation seed; each setting has its own folder. Defaults to 0.
        n_variants: genotyped variants, >= the number of ``CAUSAL_EFFECTS``. Defaults to 200.

    Returns:
        The folder holding ``manifest.csv``, ``genotypes.csv``, ``truth.json`` and ``volumes/`` (see the module
        docstring).

    Raises:
        ConfigError: an argument out of range, or nilearn missing.
    """
    shape = _check(n_subjects, shape, n_variants, seed)
    setting = {"seed": seed, "n_subjects": n_subjects, "shape": list(shape)}
    name = f"population_{_population_version()}_n{n_subjects}_{'x'.join(map(str, shape))}_v{n_variants}_seed{seed}"

    def write(staging: Path) -> None:
        with _one_thread():
            ref = reference_anatomy(shape)
            drawn, files = _generate(staging, ref, n_subjects, n_variants, seed)
            truth = _truth(ref, drawn["variants"], drawn["maf"], drawn["causal"], setting)
            files["truth.json"] = (json.dumps(truth, indent=1) + "\n").encode()
            for file_name, data in files.items():
                (staging / file_name).write_bytes(data)

    announce = f"simulating a population of {n_subjects} brains from the MNI152 template"
    return cached_folder(cache_dir, name, "truth.json", write, announce)
