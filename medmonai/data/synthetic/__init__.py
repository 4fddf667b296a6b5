"""Brain-MRI phantoms from the MNI152 template: anatomy, deformation, contrast, scanner effects and test lesions.

- :mod:`~medmonai.data.synthetic.tissues`: the template T1, brain mask and tissue probability maps (nilearn);
- :mod:`~medmonai.data.synthetic.deformation`: random multi-scale deformations, one resampling per subject;
- :mod:`~medmonai.data.synthetic.contrast`: crisp folded label maps and SynthSeg-style contrasts;
- :mod:`~medmonai.data.synthetic.scanner`: resolution, sharpness, artefacts, bias, gamma, noise; int16 output;
- :mod:`~medmonai.data.synthetic.phantom`: one healthy subject from those parts;
- :mod:`~medmonai.data.synthetic.lesions`: THE TEST LESION GENERATOR, for test data only (never training);
- :mod:`~medmonai.data.synthetic.embedded_slices`: the embedded 2-D default, multi-contrast axial slices;
- :mod:`~medmonai.data.synthetic.population`: a simulated population with planted, documented factors and genotypes;
- :mod:`~medmonai.data.synthetic.clinical`: clinical versions of a volume (thick slices, oblique grids, partial fields
  of view, scanner intensity storage), world positions kept.
"""

from medmonai.data.synthetic.clinical import (
    CLINICAL_VARIANTS,
    Variant,
    clinical_variants,
    crop_fov,
    read_back,
    rescale_intensity,
    rotate_reorient,
    thick_slices,
)
from medmonai.data.synthetic.contrast import CONTRASTS, label_map, synthesize, tissue_intensities
from medmonai.data.synthetic.deformation import DEFAULT_SCALES, deform, random_coordinates, resample, smooth_field
from medmonai.data.synthetic.embedded_slices import embedded_brain_slices
from medmonai.data.synthetic.lesions import LESION_KINDS, add_lesions, lesion_blob, stroke_mask
from medmonai.data.synthetic.phantom import synthetic_labels, synthetic_subject, template_subject
from medmonai.data.synthetic.population import simulate_population
from medmonai.data.synthetic.scanner import SCANNER_RANGES, scanner_effects
from medmonai.data.synthetic.tissues import TISSUE_LABELS, Tissues, load_tissues

__all__ = [
    "CLINICAL_VARIANTS",
    "CONTRASTS",
    "DEFAULT_SCALES",
    "LESION_KINDS",
    "SCANNER_RANGES",
    "TISSUE_LABELS",
    "Tissues",
    "Variant",
    "add_lesions",
    "clinical_variants",
    "crop_fov",
    "deform",
    "embedded_brain_slices",
    "label_map",
    "lesion_blob",
    "load_tissues",
    "random_coordinates",
    "read_back",
    "resample",
    "rescale_intensity",
    "rotate_reorient",
    "scanner_effects",
    "simulate_population",
    "smooth_field",
    "stroke_mask",
    "synthesize",
    "synthetic_labels",
    "synthetic_subject",
    "template_subject",
    "thick_slices",
    "tissue_intensities",
]
