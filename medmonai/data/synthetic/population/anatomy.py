"""Each simulated subject's brain: the template's anatomy warped and eroded by its factors, then imaged at its site."""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from scipy import ndimage

from medmonai.data.synthetic.deformation import random_coordinates, resample, smooth_field
from medmonai.data.synthetic.population.model import (
    CORTEX_MM,
    FRONTAL,
    JITTER,
    SHRINK,
    SITES,
    STRENGTH,
    SUBJECT_BIAS,
    TEMPORAL,
    TEXTURE,
    THINNING,
    VENTRICLE_MM,
)
from medmonai.data.synthetic.tissues import load_tissues

__all__ = ["Reference", "reference_anatomy", "subject_image"]

_VENTRICLE_DEPTH_MM = 14.0  # lateral ventricles: CSF this deep below the brain surface, off the midline
_MARGIN = 1.08  # grid extent / brain extent, room for larger heads
_FLOW_STEP = 0.125  # atrophy units per Euler step of the ventricles' flow (small steps keep it free of folds)
_FLOW_LEVELS = np.arange(-6, 21) * _FLOW_STEP  # atrophy levels whose flow is tabulated; beyond, the end ones
_TEMPORAL_STEPS = 6  # Euler steps of the temporal contraction


@dataclass(frozen=True)
class Reference:
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
    outer = tissues.probabilities[1] * np.exp(-depth / CORTEX_MM)
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
            step = np.float32(VENTRICLE_MM * _FLOW_STEP * direction)
            grid = moved / np.float32(voxel_mm) + centre[:, None, None, None]
            moved = moved + step * resample(flow, grid, padding="border")
            table[round(float(level) * direction, 6)] = moved - points
    table[0.0] = np.zeros_like(points)
    return np.stack([table[round(float(level), 6)] for level in _FLOW_LEVELS])


@lru_cache(maxsize=2)
def reference_anatomy(shape: tuple[int, int, int]) -> Reference:
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
    return Reference(
        channels=resample(channels, template_coords),
        brain=resample(brain, template_coords),
        ventricle_flow=_flow_table(flow, points, voxel_mm),
        points=points,
        voxel_mm=voxel_mm,
        affine=tissues.affine @ to_template,
    )


def _gaussian(points: np.ndarray, centre: np.ndarray, sigma_mm: float) -> np.ndarray:
    return np.exp(-((points - centre) ** 2).sum(0) / np.float32(2.0 * sigma_mm**2))


def _ventricle_displacement(ref: Reference, atrophy: float) -> np.ndarray:
    """The ventricles' outward flow (mm, ``(3, X, Y, Z)``) at ``atrophy``, interpolated between tabulated levels."""
    position = np.interp(atrophy, _FLOW_LEVELS, np.arange(len(_FLOW_LEVELS)))
    below = min(int(position), len(_FLOW_LEVELS) - 2)
    weight = np.float32(position - below)
    return (1 - weight) * ref.ventricle_flow[below] + weight * ref.ventricle_flow[below + 1]


def _warp(ref: Reference, subject: dict, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Where each output voxel samples the reference anatomy (centred mm): ``(tissue points, skull points)``.

    Individual deformation, then head size (skull and brain alike); then, for the tissue only, shrinkage, the
    ventricles' outward flow and, in subgroup 1, the temporal contraction, each growing with its factor.
    """
    shape = ref.points.shape[1:]
    output_centre = ((np.array(shape) - 1) / 2.0).astype(np.float32)[:, None, None, None]
    coords = random_coordinates(shape, rng, STRENGTH, ref.voxel_mm)
    skull = (coords - output_centre) * np.float32(ref.voxel_mm / subject["head_scale"])
    points = skull * np.float32(1.0 + SHRINK * subject["atrophy"])  # sampling further out shrinks the brain
    flow = _ventricle_displacement(ref, subject["ventricle_atrophy"])
    points = points + resample(flow, ref.to_grid(points), padding="border")  # sampling nearer the ventricles
    if subject["subgroup"] == 1:
        centre = ref.from_mni(TEMPORAL["centre_mni"])
        rate = np.float32(TEMPORAL["contraction"] * subject["severity"] / _TEMPORAL_STEPS)
        for _ in range(_TEMPORAL_STEPS):  # sampling further from the centre contracts the tissue around it
            points = points + rate * (points - centre) * _gaussian(points, centre, TEMPORAL["sigma_mm"])
    return points, skull


def _fractions(ref: Reference, subject: dict, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, dict]:
    """``(fractions, points, volumes)`` of one subject: its anatomy as partial volumes.

    ``fractions``: CSF, GM, WM and deep GM ``(4, X, Y, Z)`` summing to the inside of the skull; ``points``: the
    tissue points of :func:`_warp`; ``volumes``: brain_ml (GM and WM) and ventricle_ml.
    """
    points, skull = _warp(ref, subject, rng)
    sampled = resample(ref.channels, ref.to_grid(points))
    inside = resample(ref.brain, ref.to_grid(skull))[0]
    fractions, outer, ventricles = sampled[:4], sampled[4], sampled[5]
    thinning = np.float32(THINNING * subject["atrophy"])
    if subject["subgroup"] == 1:
        local = _gaussian(points, ref.from_mni(TEMPORAL["centre_mni"]), TEMPORAL["sigma_mm"])
        thinning = thinning + np.float32(TEMPORAL["thinning"] * subject["severity"]) * local
    moved = outer * np.clip(thinning, 0.0, 1.0)
    fractions[1] -= moved
    fractions[0] += moved
    tissue = fractions.sum(0)
    fractions *= np.minimum(1.0, inside / np.maximum(tissue, 1e-6))  # nothing beyond the skull
    fractions[0] += np.clip(inside - fractions.sum(0), 0.0, None)  # CSF fills the room the brain left
    ml = ref.voxel_mm**3 / 1000.0  # per voxel
    volumes = {"brain_ml": float(fractions[1:].sum()) * ml, "ventricle_ml": float(ventricles.sum()) * ml}
    return fractions, points, volumes


def _lesions(ref: Reference, points: np.ndarray, severity: float, rng: np.random.Generator) -> np.ndarray:
    """Subgroup 2: the fraction of white-matter intensity lost, patchy, in both frontal lobes; ``(X, Y, Z)``."""
    envelope = sum(_gaussian(points, ref.from_mni(c), FRONTAL["sigma_mm"]) for c in FRONTAL["centres_mni"])
    patches = smooth_field(points.shape[1:], rng, nodes=10, scale=1.0)[0]
    loss = np.float32(FRONTAL["intensity_loss"] * severity) * np.clip(envelope * (0.8 + 0.8 * patches), 0.0, 1.0)
    return np.minimum(loss, np.float32(FRONTAL["max_loss"]))


def subject_image(ref: Reference, subject: dict, rng: np.random.Generator) -> tuple[np.ndarray, dict]:
    """One subject's int16 volume (site contrast, lesions, texture, bias field, noise) and its measured volumes."""
    fractions, points, volumes = _fractions(ref, subject, rng)
    site = SITES[int(subject["site"])]
    shape = fractions.shape[1:]
    means = np.asarray(site.means, np.float32) * (1.0 + np.float32(JITTER) * rng.standard_normal(4, np.float32))
    white = np.full(shape, means[2], np.float32)
    if subject["subgroup"] == 2:
        white *= 1.0 - _lesions(ref, points, subject["severity"], rng)
    image = fractions[0] * means[0] + fractions[1] * means[1] + fractions[2] * white + fractions[3] * means[3]
    image *= 1.0 + smooth_field(shape, rng, nodes=12, scale=TEXTURE)[0]
    along = ref.points[site.bias_axis] / np.float32(np.abs(ref.points[site.bias_axis]).max())
    image *= np.exp(np.float32(site.bias) * along + smooth_field(shape, rng, nodes=3, scale=SUBJECT_BIAS)[0])
    inside = fractions.sum(0)
    rim = ndimage.binary_dilation(inside > 0.5)  # skull-stripped: noise within the brain and one voxel around
    image = (image + np.float32(site.noise) * rng.standard_normal(shape, np.float32)) * rim
    volume = np.clip(image * np.float32(site.gain), 0.0, np.iinfo(np.int16).max)
    return np.round(volume).astype(np.int16), volumes
