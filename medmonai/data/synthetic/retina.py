"""Retinal OCT B-scan phantoms: a layered, speckled retina with a foveal pit, and three disease patterns.

Every image is SYNTHETIC. The phantoms stand in for the Kermany OCT2017 classes so that the OCT bundle runs offline
(:func:`medmonai.data.synthetic.embedded_oct`); numbers measured on them say nothing about real OCT.

- anatomy: nine retinal layers (nerve fibre layer to RPE) over the choroid, with per-patient thicknesses,
  reflectivities, curvature and tilt, and a foveal pit that thins the inner layers;
- ``CNV``: a bright, irregular fibrovascular membrane above the RPE that lifts the outer retina, with a pocket of
  dark subretinal fluid over it;
- ``DME``: dark intraretinal cysts in the nuclear layers, and a thickened retina around them;
- ``DRUSEN``: dome-shaped elevations of the RPE filled with moderately reflective material;
- acquisition: multiplicative speckle, a little blur, background noise and 8-bit output.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

__all__ = ["OCT_CLASSES", "RetinaAnatomy", "random_anatomy", "retina_bscan"]

OCT_CLASSES = ("NORMAL", "CNV", "DME", "DRUSEN")  # the Kermany OCT2017 classes; label = index, NORMAL is 0

# name, thickness in pixels away from the fovea (at height 240), reflectivity: inner to outer retina
_LAYERS = (
    ("nerve fibre", 7.0, 0.75),
    ("ganglion cell + inner plexiform", 14.0, 0.45),
    ("inner nuclear", 7.0, 0.22),
    ("outer plexiform", 4.0, 0.50),
    ("outer nuclear", 15.0, 0.15),
    ("external limiting membrane", 1.5, 0.45),
    ("photoreceptor segments", 5.0, 0.30),
    ("ellipsoid zone", 2.5, 0.85),
    ("retinal pigment epithelium", 4.5, 0.95),
)
_INNER = 4  # the first four layers thin out in the foveal pit
_CHOROID = (24.0, 0.40)


@dataclass(frozen=True)
class RetinaAnatomy:
    """One patient's retina: layer thicknesses and reflectivities, and the shape of the retinal surface."""

    thickness: tuple[float, ...]
    reflectivity: tuple[float, ...]
    depth: float  # inner surface at the fovea, as a fraction of the height
    curvature: float  # pixels of sag at the image edge
    tilt: float  # pixels of rise from the left edge to the right one
    pit_depth: float  # fraction of the inner layers gone at the foveal centre
    pit_width: float  # fraction of the width


def random_anatomy(rng: np.random.Generator) -> RetinaAnatomy:
    """A patient: every layer 80-120 % of its typical thickness, reflectivity +-15 %, random shape and pit."""
    return RetinaAnatomy(
        thickness=tuple(t * rng.uniform(0.8, 1.2) for _, t, _ in _LAYERS),
        reflectivity=tuple(min(r * rng.uniform(0.85, 1.15), 1.0) for _, _, r in _LAYERS),
        depth=rng.uniform(0.25, 0.4),
        curvature=rng.uniform(-15.0, 25.0),
        tilt=rng.uniform(-20.0, 20.0),
        pit_depth=rng.uniform(0.6, 0.9),
        pit_width=rng.uniform(0.06, 0.1),
    )


def _bump(x: np.ndarray, centre: float, width: float) -> np.ndarray:
    return np.exp(-(((x - centre) / width) ** 2))


def _ellipse(y: np.ndarray, x: np.ndarray, cy: float, cx: float, ry: float, rx: float, edge: float = 0.7):
    """A soft filled ellipse in [0, 1]."""
    level = np.sqrt(((y - cy) / ry) ** 2 + ((x - cx) / rx) ** 2)
    return np.clip((1.0 - level) / (edge / max(min(ry, rx), 1.0)), 0.0, 1.0)


def retina_bscan(
    finding: str,
    rng: np.random.Generator,
    anatomy: RetinaAnatomy | None = None,
    width: int = 320,
    height: int = 240,
) -> np.ndarray:
    """One synthetic OCT B-scan as ``(height, width)`` uint8.

    Args:
        finding: one of :data:`OCT_CLASSES`.
        rng: the random generator (position of the scan, disease features, speckle).
        anatomy: the patient's retina; None draws one. Defaults to None.
        width: image width in pixels. Defaults to 320.
        height: image height in pixels; layer sizes scale with it. Defaults to 240.

    Raises:
        ValueError: an unknown ``finding``.
    """
    if finding not in OCT_CLASSES:
        raise ValueError(f"finding must be one of {OCT_CLASSES}, got {finding!r}")
    anatomy = anatomy or random_anatomy(rng)
    scale = height / 240.0
    x = np.arange(width, dtype=np.float64)
    y = np.arange(height, dtype=np.float64)[:, None]
    u = x / (width - 1) - 0.5  # -0.5 .. 0.5 across the scan
    fovea = width * (0.5 + rng.uniform(-0.12, 0.12))  # each scan crosses the macula a little differently
    surface = height * (anatomy.depth + rng.uniform(-0.04, 0.04)) + anatomy.curvature * scale * 4 * u**2
    surface = surface + (anatomy.tilt + rng.uniform(-5, 5)) * scale * u
    thickness = np.array(anatomy.thickness)[:, None] * scale * np.ones((1, width))
    pit = anatomy.pit_depth * _bump(x, fovea, anatomy.pit_width * width)
    thickness[:_INNER] *= 1.0 - pit
    thickness *= 1.0 + 0.05 * ndimage.gaussian_filter1d(rng.normal(size=width), width / 30)[None]

    extra = np.zeros((height, width))  # features painted over the layers, with their weight
    weight = np.zeros_like(extra)
    lift = np.zeros(width)  # upward shift of everything above Bruch's membrane
    if finding == "DME":  # thickened retina with dark cysts in the nuclear layers
        swelling = rng.uniform(0.4, 1.0) * _bump(
            x, fovea + rng.uniform(-30, 30) * scale, rng.uniform(0.12, 0.25) * width
        )
        thickness[2] *= 1.0 + 1.5 * swelling
        thickness[4] *= 1.0 + 1.2 * swelling
    if finding == "DRUSEN":  # dome-shaped RPE elevations
        for _ in range(int(rng.integers(2, 7))):
            lift += rng.uniform(4, 12) * scale * _bump(x, rng.uniform(0.15, 0.85) * width, rng.uniform(6, 18) * scale)
    if finding == "CNV":  # a fibrovascular membrane lifting the outer retina
        centre, half = fovea + rng.uniform(-25, 25) * scale, rng.uniform(18, 40) * scale
        lift += rng.uniform(10, 22) * scale * _bump(x, centre, half)

    # layers stack up from Bruch's membrane, so a thinner inner retina is a pit and a thicker one a swelling
    bruch = surface + np.array(anatomy.thickness).sum() * scale
    bottoms = bruch - lift - np.concatenate([np.cumsum(thickness[::-1], 0)[::-1][1:], np.zeros((1, width))])
    tops = np.concatenate([bottoms[:1] - thickness[:1], bottoms])
    edge = 0.8 * scale
    image = np.zeros((height, width))
    for layer in range(len(_LAYERS)):
        inside = _sigmoid((y - tops[layer]) / edge) - _sigmoid((y - tops[layer + 1]) / edge)
        image += anatomy.reflectivity[layer] * inside
    choroid_depth = _CHOROID[0] * scale
    texture = ndimage.gaussian_filter(rng.normal(size=(height, width)), 2.0 * scale)
    below = _sigmoid((y - bruch) / edge) * np.exp(-np.clip(y - bruch, 0, None) / choroid_depth)
    image += _CHOROID[1] * below * (1.0 + 0.5 * texture / max(texture.std(), 1e-6))
    under = np.clip(_sigmoid((y - (bruch - lift)) / edge) - _sigmoid((y - bruch) / edge), 0, 1)

    if finding == "DRUSEN":  # the space under the lifted RPE holds drusen material
        extra, weight = _paint(extra, weight, under, rng.uniform(0.3, 0.5))
    if finding == "CNV":
        membrane = under * (1.0 + 0.5 * ndimage.gaussian_filter(rng.normal(size=(height, width)), 3 * scale))
        extra, weight = _paint(extra, weight, np.clip(membrane, 0, 1), rng.uniform(0.65, 0.9))
        fluid_top = tops[5]  # subretinal fluid between the outer nuclear layer and the membrane
        fluid = _ellipse(y, x, float(np.interp(centre, x, fluid_top)) + 4 * scale, centre, 5 * scale, half * 0.9)
        extra, weight = _paint(extra, weight, fluid * rng.uniform(0.6, 1.0), 0.02)
    if finding == "DME":
        for _ in range(int(rng.integers(3, 9))):
            cx = fovea + rng.uniform(-0.2, 0.2) * width
            layer = 2 if rng.uniform() < 0.5 else 4
            cy = float(np.interp(cx, x, (tops[layer] + tops[layer + 1]) / 2))
            ry, rx = rng.uniform(3, 10) * scale, rng.uniform(4, 14) * scale
            extra, weight = _paint(extra, weight, _ellipse(y, x, cy, cx, ry, rx), 0.02)
    image = image * (1.0 - weight) + extra

    image *= rng.gamma(4.0, 0.25, size=image.shape)  # speckle
    image = ndimage.gaussian_filter(image, 0.6 * scale)
    image = image * rng.uniform(180, 240) + rng.normal(8, 6, size=image.shape)
    return np.clip(image, 0, 255).astype(np.uint8)


def _sigmoid(v: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * v))


def _paint(extra: np.ndarray, weight: np.ndarray, mask: np.ndarray, value: float) -> tuple[np.ndarray, np.ndarray]:
    """Blend ``value`` in where ``mask`` (in [0, 1]) is on, over earlier paint."""
    return extra * (1.0 - mask) + value * mask, weight + mask * (1.0 - weight)
