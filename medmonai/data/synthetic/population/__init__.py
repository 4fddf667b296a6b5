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

from medmonai.data.synthetic.population.model import (
    AGE_RANGE,
    CAUSAL_EFFECTS,
    SITES,
    SUBGROUP_SHARES,
    SUBGROUPS,
    Site,
)
from medmonai.data.synthetic.population.simulate import simulate_population

__all__ = ["AGE_RANGE", "CAUSAL_EFFECTS", "SITES", "SUBGROUPS", "SUBGROUP_SHARES", "Site", "simulate_population"]
