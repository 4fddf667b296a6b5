"""A SIMULATED population of brain MRIs with planted, documented factors: the population_ssl embedded default.

A self-supervised model and the population analysis are scored by how much of what is planted here they recover.
Each subject is a phantom made from nilearn's MNI152 anatomy (:func:`~medmonai.data.synthetic.load_tissues`) and
the generator's random deformation (:func:`~medmonai.data.synthetic.random_coordinates`), sampled once onto a small
grid (``shape``; 40x48x40 voxels of 4.2 mm by default, the template's brain plus a margin) as a partial-volume mix
of CSF, cortical grey matter, white matter and deep grey matter. All draws come from ``seed``; the numbers below
are module constants, and ``truth.json`` repeats them with every causal variant. The effects are deliberately
larger than real ageing or disease, so that a few hundred small volumes are enough to find them.

Planted factors:

- **age**, uniform in ``AGE_RANGE`` (45-80 years), drives **atrophy** = (age - 45) / 35 + N(0, 0.04²), in units
  of 35 years of ageing, which acts by deformation and erosion, monotone in it: the brain shrinks towards its
  centre (8% linear per unit) inside a skull that stays put (CSF fills the gap); the cortex thins (per unit, all
  the grey matter at the surface turns into CSF, fading as exp(-depth / 14 mm)); and the lateral ventricles
  expand: their walls flow outwards by 8 mm per unit of **ventricle_atrophy** = atrophy + genetic effects,
  along the gradient of the smoothed ventricle mask.
- **sex** (0 male, 1 female) drives **head size**: head_scale = 1 - 0.04 sex + genetic effects + N(0, 0.02²), a
  global scale of skull and brain.
- **site** (0, 1 or 2, equally likely) is a nuisance: each of ``SITES`` has its own tissue intensities (contrast),
  a bias-field gradient along its own axis, noise level and intensity gain.
- **subgroup** (``SUBGROUPS``; shares ``SUBGROUP_SHARES``, 60% healthy): 1 left temporal atrophy (tissue contracted
  towards a point in the left temporal lobe, its cortex thinned), 2 frontal white-matter lesions (patchy loss of
  white-matter intensity in both frontal lobes, as white-matter hyperintensities look on T1). An affected subject's
  **severity** is uniform in 0.5-1 plus genetic effects, and scales its pattern; a healthy subject's is 0.
- **genotypes**: ``n_variants`` biallelic variants with minor allele frequency uniform in 0.05-0.5 (0.25-0.5 for
  the causal ones) and 0/1/2 dosages in Hardy-Weinberg equilibrium. Each of ``CAUSAL_EFFECTS`` sits at a random
  column and shifts one factor per allele: ventricle_atrophy (two variants, opposite signs), head_scale, the
  log-odds of subgroup 1 and of subgroup 2 (each centred on the allele's mean dosage, so the shares stay about
  20%), and the severity of subgroups 1 and 2 (visible within the affected only). Every other variant is null.

Age, sex, site and genotypes are independent; subgroups depend on their risk variants only. On top come individual
anatomy (the generator's random deformation at strength 0.2), per-subject jitter of the tissue intensities, a
random smooth bias field, texture and Gaussian noise, so no factor is trivially clean. The folder holds::

    manifest.csv                 subject_id, image, the observed covariates age, sex, site, then the planted truth:
                                 subgroup, severity, atrophy, ventricle_atrophy, head_scale, brain_ml, ventricle_ml
    genotypes.csv                subject_id, then one 0/1/2 column per variant (var000, var001, ...)
    truth.json                   the generative model, its constants, the causal variants and their effects
    volumes/<subject_id>.nii.gz  int16 (X, Y, Z), skull-stripped, RAS affine in MNI space

brain_ml (grey and white matter) and ventricle_ml are measured on each subject's own tissue maps. The phantoms
say nothing about real brains: they make it possible to check that a pipeline finds what is known to be there.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import math
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch
from scipy import ndimage
from threadpoolctl import threadpool_limits

from medmonai.data.synthetic.deformation import random_coordinates, resample, smooth_field
from medmonai.data.synthetic.template import brain_sources, default_cache_dir, generator_version, save_volume
from medmonai.data.synthetic.tissues import load_tissues
from medmonai.errors import ConfigError
from medmonai.utils.outputs import atomic_directory

__all__ = ["AGE_RANGE", "CAUSAL_EFFECTS", "SITES", "SUBGROUPS", "SUBGROUP_SHARES", "Site", "simulate_population"]

logger = logging.getLogger(__name__)


def _population_version() -> str:
    """The brain phantoms' code version plus this module's: a change to either regenerates the population."""
    return generator_version([*brain_sources(), Path(__file__)])


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
_ATROPHY_SD = 0.04  # atrophy not explained by age, atrophy units
_SHRINK = 0.08  # linear brain shrinkage per atrophy unit
_VENTRICLE_MM = 8.0  # outward flow of the ventricle walls per atrophy unit
_THINNING = 1.0  # fraction of the cortical grey matter at the surface turned into CSF per atrophy unit
_CORTEX_MM = 14.0  # the thinning fades as exp(-depth / this) below the brain surface
_HEAD_FEMALE, _HEAD_SD = -0.04, 0.02
_SEVERITY = (0.5, 1.0)
_TEMPORAL = {"centre_mni": (-44.0, -18.0, -16.0), "sigma_mm": 22.0, "contraction": 1.2, "thinning": 1.0}
_FRONTAL = {
    "centres_mni": ((-26.0, 24.0, 22.0), (26.0, 24.0, 22.0)),
    "sigma_mm": 18.0,
    "intensity_loss": 0.6,
    "max_loss": 0.85,
}
_STRENGTH = 0.2  # individual anatomy: strength of the generator's random deformation
_JITTER, _SUBJECT_BIAS, _TEXTURE = 0.02, 0.04, 0.02  # per-subject tissue-mean jitter, bias-field and texture std
_MAF, _CAUSAL_MAF = (0.05, 0.5), (0.25, 0.5)
_VENTRICLE_DEPTH_MM = 14.0  # lateral ventricles: CSF this deep below the brain surface, off the midline
_MARGIN = 1.08  # grid extent / brain extent, room for larger heads
_FLOW_STEP = 0.125  # atrophy units per Euler step of the ventricles' flow (small steps keep it free of folds)
_FLOW_LEVELS = np.arange(-6, 21) * _FLOW_STEP  # atrophy levels whose flow is tabulated; beyond, the end ones
_TEMPORAL_STEPS = 6  # Euler steps of the temporal contraction
_MIN_SUBJECTS, _SHAPE_RANGE = 20, (16, 96)  # beyond 96 voxels the grid is finer than the template
_FACTOR_MEANING = {  # what a causal variant's effect is in, and on whom it acts
    "ventricle_atrophy": "atrophy units of ventricle expansion (1 = that of 35 years of ageing); every subject",
    "head_scale": "linear scale of skull and brain; every subject",
    "subgroup_1_log_odds": "log odds of subgroup 1 against healthy, per allele above the mean dosage; every subject",
    "subgroup_2_log_odds": "log odds of subgroup 2 against healthy, per allele above the mean dosage; every subject",
    "severity": "severity of the subgroup pattern; subjects of subgroups 1 and 2 only",
}
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


@dataclass(frozen=True)
class _Reference:
    """The template's anatomy on the output grid, prepared once per shape.

    Points are handled in "centred mm": mm from the centre of the output grid, which sits on the template brain's
    centre. Sampling from this small grid rather than the 2 mm template is several times quicker.
    """

    channels: np.ndarray  # float32 (6, X, Y, Z): CSF, GM, WM, deep GM, outer cortex, lateral ventricles
    brain: np.ndarray  # float32 (1, X, Y, Z): the template brain mask, the inside of the skull
    ventricle_flow: np.ndarray  # float32 (levels, 3, X, Y, Z): displacement (mm) of the ventricles' flow per level
    points: np.ndarray  # float32 (3, X, Y, Z): the grid's voxel centres in centred mm
    voxel_mm: float
    affine: np.ndarray  # 4x4 voxel-to-MNI (RAS) affine of the grid

    def to_grid(self, points: np.ndarray) -> np.ndarray:
        """Centred-mm ``(3, ...)`` points as voxel coordinates of the grid."""
        centre = (np.array(self.points.shape[1:], np.float32) - 1) / 2
        return points / np.float32(self.voxel_mm) + centre[:, None, None, None]

    def from_mni(self, mni: tuple[float, float, float]) -> np.ndarray:
        """An MNI coordinate (mm) in centred mm, ``(3, 1, 1, 1)``."""
        voxel = np.linalg.solve(self.affine, [*mni, 1.0])[:3]
        centre = (np.array(self.points.shape[1:]) - 1) / 2
        return ((voxel - centre) * self.voxel_mm).astype(np.float32)[:, None, None, None]


def _lateral_ventricles(csf: np.ndarray, brain: np.ndarray, voxel_mm: float) -> np.ndarray:
    """The template's two lateral ventricles: the two largest bodies of deep CSF off the midline."""
    depth = ndimage.distance_transform_edt(brain > 0.5) * voxel_mm
    midline = ndimage.center_of_mass(brain)[0]
    off_midline = np.abs(np.arange(brain.shape[0]) - midline)[:, None, None] >= 4.0 / voxel_mm
    labels, count = ndimage.label((csf > 0.5) & (depth > _VENTRICLE_DEPTH_MM) & off_midline)
    sizes = ndimage.sum_labels(np.ones_like(labels), labels, range(1, count + 1))
    return np.isin(labels, 1 + np.argsort(sizes)[-2:]).astype(np.float32)


def _template_channels() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(channels, brain, flow)`` on the 2 mm template.

    ``flow`` is the gradient of the smoothed lateral-ventricle mask (pointing into them), scaled to a peak of 1.
    """
    tissues = load_tissues(2)
    mm = tissues.voxel_mm
    depth = ndimage.distance_transform_edt(tissues.brain > 0.5) * mm
    ventricles = _lateral_ventricles(tissues.probabilities[0], tissues.brain, mm)
    outer = tissues.probabilities[1] * np.exp(-depth / _CORTEX_MM)
    channels = np.concatenate([tissues.probabilities, outer[None], ventricles[None]]).astype(np.float32)
    flow = np.stack(np.gradient(ndimage.gaussian_filter(ventricles, 4.0 / mm)))
    flow /= max(float(np.sqrt((flow**2).sum(0)).max()), 1e-6)
    return channels, tissues.brain[None].astype(np.float32), flow.astype(np.float32)


def _flow_table(flow: np.ndarray, points: np.ndarray, voxel_mm: float) -> np.ndarray:
    """Displacement (mm) of the ventricles' outward flow at each of ``_FLOW_LEVELS`` (Euler steps of 0.125)."""
    centre = (np.array(points.shape[1:], np.float32) - 1) / 2
    table = {}
    for direction in (1, -1):
        moved = points.copy()
        for level in _FLOW_LEVELS[_FLOW_LEVELS * direction > 0] * direction:
            step = np.float32(_VENTRICLE_MM * _FLOW_STEP * direction)
            grid = moved / np.float32(voxel_mm) + centre[:, None, None, None]
            moved = moved + step * resample(flow, grid, padding="border")
            table[round(float(level) * direction, 6)] = moved - points
    table[0.0] = np.zeros_like(points)
    return np.stack([table[round(float(level), 6)] for level in _FLOW_LEVELS])


@lru_cache(maxsize=2)
def _reference(shape: tuple[int, int, int]) -> _Reference:
    """The template's channels, skull and ventricle flow on a grid of ``shape`` around the brain, ``_MARGIN`` wider."""
    tissues = load_tissues(2)
    mm = tissues.voxel_mm
    inside = np.argwhere(tissues.brain > 0.5)
    low, high = inside.min(0), inside.max(0)
    voxel_mm = float(max((high - low + 1) * mm * _MARGIN / np.array(shape)))
    step = voxel_mm / mm  # output voxels in template voxels
    output_centre = (np.array(shape) - 1) / 2.0
    to_template = np.eye(4)
    to_template[:3, :3] *= step
    to_template[:3, 3] = (low + high) / 2.0 - output_centre * step
    grid = np.indices(shape, dtype=np.float32)
    template_coords = grid * np.float32(step) + to_template[:3, 3].astype(np.float32)[:, None, None, None]
    channels, brain, flow = _template_channels()
    antialias = math.sqrt(max(step**2 - 1.0, 0.0) / 12.0)  # a box one output voxel wide, as a Gaussian
    channels = ndimage.gaussian_filter(channels, (0, antialias, antialias, antialias), truncate=3.0)
    points = (grid - output_centre.astype(np.float32)[:, None, None, None]) * np.float32(voxel_mm)
    flow = resample(flow, template_coords)
    return _Reference(
        channels=resample(channels, template_coords),
        brain=resample(brain, template_coords),
        ventricle_flow=_flow_table(flow, points, voxel_mm),
        points=points,
        voxel_mm=voxel_mm,
        affine=tissues.affine @ to_template,
    )


def _genotypes(n: int, n_variants: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(dosages, maf, causal)``: int8 ``(n, variants)`` 0/1/2 dosages, allele frequencies, causal columns.

    Dosages are Binomial(2, maf), Hardy-Weinberg proportions; ``causal[k]`` is the column of ``CAUSAL_EFFECTS[k]``.
    """
    maf = rng.uniform(*_MAF, n_variants)
    causal = rng.choice(n_variants, len(CAUSAL_EFFECTS), replace=False)
    maf[causal] = rng.uniform(*_CAUSAL_MAF, len(causal))
    return rng.binomial(2, maf, size=(n, n_variants)).astype(np.int8), maf, causal


def _factors(dosages: np.ndarray, maf: np.ndarray, causal: np.ndarray, rng: np.random.Generator) -> dict:
    """Per-subject planted factors (arrays of length n) from independent draws and the causal variants."""
    n = len(dosages)
    age = np.round(rng.uniform(*AGE_RANGE, n), 1)
    sex, site = rng.integers(0, 2, n), rng.integers(0, len(SITES), n)
    shifts = {factor: np.zeros(n) for factor, _ in CAUSAL_EFFECTS}
    for (factor, effect), column in zip(CAUSAL_EFFECTS, causal, strict=True):
        centring = 2.0 * maf[column] if factor.endswith("log_odds") else 0.0  # risk centred: shares stay put
        shifts[factor] += effect * (dosages[:, column] - centring)
    atrophy = (age - AGE_RANGE[0]) / (AGE_RANGE[1] - AGE_RANGE[0]) + _ATROPHY_SD * rng.standard_normal(n)
    head_scale = 1.0 + _HEAD_FEMALE * sex + shifts["head_scale"] + _HEAD_SD * rng.standard_normal(n)
    logits = np.tile(np.log(np.asarray(SUBGROUP_SHARES) / SUBGROUP_SHARES[0]), (n, 1))
    logits[:, 1] += shifts["subgroup_1_log_odds"]
    logits[:, 2] += shifts["subgroup_2_log_odds"]
    shares = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    subgroup = (rng.random(n)[:, None] > np.cumsum(shares, 1)[:, :-1]).sum(1)
    severity = np.where(subgroup > 0, rng.uniform(*_SEVERITY, n) + shifts["severity"], 0.0)
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


def _gaussian(points: np.ndarray, centre: np.ndarray, sigma_mm: float) -> np.ndarray:
    return np.exp(-((points - centre) ** 2).sum(0) / np.float32(2.0 * sigma_mm**2))


def _ventricle_displacement(ref: _Reference, atrophy: float) -> np.ndarray:
    """The ventricles' outward flow (mm, ``(3, X, Y, Z)``) at ``atrophy``, interpolated between tabulated levels."""
    position = np.interp(atrophy, _FLOW_LEVELS, np.arange(len(_FLOW_LEVELS)))
    below = min(int(position), len(_FLOW_LEVELS) - 2)
    weight = np.float32(position - below)
    return (1 - weight) * ref.ventricle_flow[below] + weight * ref.ventricle_flow[below + 1]


def _warp(ref: _Reference, subject: dict, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Where each output voxel samples the reference anatomy (centred mm): ``(tissue points, skull points)``.

    Individual deformation, then head size (skull and brain alike); then, for the tissue only, shrinkage, the
    ventricles' outward flow and, in subgroup 1, the temporal contraction, each growing with its factor.
    """
    shape = ref.points.shape[1:]
    output_centre = ((np.array(shape) - 1) / 2.0).astype(np.float32)[:, None, None, None]
    coords = random_coordinates(shape, rng, _STRENGTH, ref.voxel_mm)
    skull = (coords - output_centre) * np.float32(ref.voxel_mm / subject["head_scale"])
    points = skull * np.float32(1.0 + _SHRINK * subject["atrophy"])  # sampling further out shrinks the brain
    flow = _ventricle_displacement(ref, subject["ventricle_atrophy"])
    points = points + resample(flow, ref.to_grid(points), padding="border")  # sampling nearer the ventricles
    if subject["subgroup"] == 1:
        centre = ref.from_mni(_TEMPORAL["centre_mni"])
        rate = np.float32(_TEMPORAL["contraction"] * subject["severity"] / _TEMPORAL_STEPS)
        for _ in range(_TEMPORAL_STEPS):  # sampling further from the centre contracts the tissue around it
            points = points + rate * (points - centre) * _gaussian(points, centre, _TEMPORAL["sigma_mm"])
    return points, skull


def _fractions(ref: _Reference, subject: dict, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, dict]:
    """``(fractions, points, volumes)`` of one subject: its anatomy as partial volumes.

    ``fractions``: CSF, GM, WM and deep GM ``(4, X, Y, Z)`` summing to the inside of the skull; ``points``: the
    tissue points of :func:`_warp`; ``volumes``: brain_ml (GM and WM) and ventricle_ml.
    """
    points, skull = _warp(ref, subject, rng)
    sampled = resample(ref.channels, ref.to_grid(points))
    inside = resample(ref.brain, ref.to_grid(skull))[0]
    fractions, outer, ventricles = sampled[:4], sampled[4], sampled[5]
    thinning = np.float32(_THINNING * subject["atrophy"])
    if subject["subgroup"] == 1:
        local = _gaussian(points, ref.from_mni(_TEMPORAL["centre_mni"]), _TEMPORAL["sigma_mm"])
        thinning = thinning + np.float32(_TEMPORAL["thinning"] * subject["severity"]) * local
    moved = outer * np.clip(thinning, 0.0, 1.0)
    fractions[1] -= moved
    fractions[0] += moved
    tissue = fractions.sum(0)
    fractions *= np.minimum(1.0, inside / np.maximum(tissue, 1e-6))  # nothing beyond the skull
    fractions[0] += np.clip(inside - fractions.sum(0), 0.0, None)  # CSF fills the room the brain left
    ml = ref.voxel_mm**3 / 1000.0  # per voxel
    volumes = {"brain_ml": float(fractions[1:].sum()) * ml, "ventricle_ml": float(ventricles.sum()) * ml}
    return fractions, points, volumes


def _lesions(ref: _Reference, points: np.ndarray, severity: float, rng: np.random.Generator) -> np.ndarray:
    """Subgroup 2: the fraction of white-matter intensity lost, patchy, in both frontal lobes; ``(X, Y, Z)``."""
    envelope = sum(_gaussian(points, ref.from_mni(c), _FRONTAL["sigma_mm"]) for c in _FRONTAL["centres_mni"])
    patches = smooth_field(points.shape[1:], rng, nodes=10, scale=1.0)[0]
    loss = np.float32(_FRONTAL["intensity_loss"] * severity) * np.clip(envelope * (0.8 + 0.8 * patches), 0.0, 1.0)
    return np.minimum(loss, np.float32(_FRONTAL["max_loss"]))


def _image(ref: _Reference, subject: dict, rng: np.random.Generator) -> tuple[np.ndarray, dict]:
    """One subject's int16 volume (site contrast, lesions, texture, bias field, noise) and its measured volumes."""
    fractions, points, volumes = _fractions(ref, subject, rng)
    site = SITES[int(subject["site"])]
    shape = fractions.shape[1:]
    means = np.asarray(site.means, np.float32) * (1.0 + np.float32(_JITTER) * rng.standard_normal(4, np.float32))
    white = np.full(shape, means[2], np.float32)
    if subject["subgroup"] == 2:
        white *= 1.0 - _lesions(ref, points, subject["severity"], rng)
    image = fractions[0] * means[0] + fractions[1] * means[1] + fractions[2] * white + fractions[3] * means[3]
    image *= 1.0 + smooth_field(shape, rng, nodes=12, scale=_TEXTURE)[0]
    along = ref.points[site.bias_axis] / np.float32(np.abs(ref.points[site.bias_axis]).max())
    image *= np.exp(np.float32(site.bias) * along + smooth_field(shape, rng, nodes=3, scale=_SUBJECT_BIAS)[0])
    inside = fractions.sum(0)
    rim = ndimage.binary_dilation(inside > 0.5)  # skull-stripped: noise within the brain and one voxel around
    image = (image + np.float32(site.noise) * rng.standard_normal(shape, np.float32)) * rim
    volume = np.clip(image * np.float32(site.gain), 0.0, np.iinfo(np.int16).max)
    return np.round(volume).astype(np.int16), volumes


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


def _truth(ref: _Reference, variants: list[str], maf: np.ndarray, causal: np.ndarray, setting: dict) -> dict:
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
                "sd": _ATROPHY_SD,
                "shrink_per_unit": _SHRINK,
                "cortical_thinning_per_unit": _THINNING,
                "thinning_depth_mm": _CORTEX_MM,
            },
            "ventricle_atrophy": {
                "formula": "atrophy + sum(effect * dosage)",
                "ventricle_wall_mm_per_unit": _VENTRICLE_MM,
            },
            "head_scale": {
                "formula": "1 + female * sex + sum(effect * dosage) + N(0, sd^2)",
                "female": _HEAD_FEMALE,
                "sd": _HEAD_SD,
            },
            "subgroup": {
                "labels": {str(k): v for k, v in SUBGROUPS.items()},
                "shares": list(SUBGROUP_SHARES),
                "log_odds": "log(share_k / share_0) + effect * (dosage - 2 maf), k = 1, 2",
                "severity": f"uniform in {list(_SEVERITY)} + sum(effect * dosage) in subgroups 1 and 2, else 0",
                "left_temporal_atrophy": _TEMPORAL,
                "frontal_white_matter_lesions": _FRONTAL,
            },
            "sites": [asdict(site) for site in SITES],
            "individual": {
                "deformation_strength": _STRENGTH,
                "tissue_mean_jitter": _JITTER,
                "bias_field_sd": _SUBJECT_BIAS,
                "texture_sd": _TEXTURE,
            },
        },
        "genotypes": {
            "n_variants": len(variants),
            "maf_range": list(_MAF),
            "causal_maf_range": list(_CAUSAL_MAF),
            "model": "dosage ~ Binomial(2, maf) (Hardy-Weinberg)",
            "maf": {name: round(float(f), 4) for name, f in zip(variants, maf, strict=True)},
        },
        "causal_variants": [
            {
                "variant": variants[column],
                "maf": round(float(maf[column]), 4),
                "factor": factor,
                "effect_per_allele": effect,
                "meaning": _FACTOR_MEANING[factor],
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


def _generate(staging: Path, ref: _Reference, n_subjects: int, n_variants: int, seed: int) -> tuple[dict, dict]:
    """Draw the population and write every volume into ``staging/volumes``; returns the draws and the files."""
    rng = np.random.default_rng([seed, 0])
    dosages, maf, causal = _genotypes(n_subjects, n_variants, rng)
    factors = _factors(dosages, maf, causal, rng)
    names, variants = _names("sub", n_subjects), _names("var", n_variants)
    (staging / "volumes").mkdir()
    measured = []
    for i, name in enumerate(names):
        subject = {key: values[i] for key, values in factors.items()}
        volume, volumes = _image(ref, subject, np.random.default_rng([seed, 1, i]))
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
    cache = Path(cache_dir) if cache_dir else default_cache_dir()
    setting = {"seed": seed, "n_subjects": n_subjects, "shape": list(shape)}
    name = f"population_{_population_version()}_n{n_subjects}_{'x'.join(map(str, shape))}_v{n_variants}_seed{seed}"
    final = cache / name
    if (final / "truth.json").is_file():
        return final
    logger.info(f"simulating a population of {n_subjects} brains from the MNI152 template into {final}")
    try:
        with _one_thread(), atomic_directory(final) as staging:  # a half-written population is never visible
            ref = _reference(shape)
            drawn, files = _generate(staging, ref, n_subjects, n_variants, seed)
            truth = _truth(ref, drawn["variants"], drawn["maf"], drawn["causal"], setting)
            files["truth.json"] = (json.dumps(truth, indent=1) + "\n").encode()
            for file_name, data in files.items():
                (staging / file_name).write_bytes(data)
    except OSError:
        if (final / "truth.json").is_file():  # another process wrote the same setting meanwhile
            return final
        raise
    return final
