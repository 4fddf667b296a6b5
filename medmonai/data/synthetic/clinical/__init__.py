"""Clinical versions of a research volume, as a hospital scanner would store them.

Every function takes a 3-D nibabel image, and optionally a label map and a brain mask on the same grid, and returns
a :class:`Variant` of nibabel images whose affines keep world positions: a variant overlays its original in a
viewer. Images are interpolated linearly; labels and masks by majority (each value's footprint fraction,
interpolated linearly, largest wins), so they keep their values (a binary mask stays binary).

- :func:`thick_slices`: thick slices (a box slice profile: each slice averages its slab) along one axis, and
  optionally another in-plane spacing;
- :func:`rotate_reorient`: a voxel grid turned against the head (an oblique acquisition: in voxel space the head is
  tilted) and stored in another voxel order (``"LPS"``, ``"PIL"``, ...);
- :func:`crop_fov`: a partial field of view;
- :func:`rescale_intensity`: integers with ``scl_slope``/``scl_inter``, in another scanner's range;
- :func:`clinical_variants`: the benchmark's standard set, each alone and all at once.
"""

from medmonai.data.synthetic.clinical.grids import Variant
from medmonai.data.synthetic.clinical.scans import crop_fov, read_back, rescale_intensity, rotate_reorient, thick_slices
from medmonai.data.synthetic.clinical.variants import CLINICAL_VARIANTS, clinical_variants

__all__ = [
    "CLINICAL_VARIANTS",
    "Variant",
    "clinical_variants",
    "crop_fov",
    "read_back",
    "rescale_intensity",
    "rotate_reorient",
    "thick_slices",
]
