"""A normative map: how unusual each voxel of a method's map is for that place in healthy brains."""

from __future__ import annotations

from medmonai.methods.derived import DerivedMethod
from medmonai.scoring import VoxelwiseStandardization

__all__ = ["NormativeMap"]


class NormativeMap(VoxelwiseStandardization, DerivedMethod):
    """:class:`medmonai.scoring.VoxelwiseStandardization` of one method's map, as a method of its own.

    With ``method="intensity_threshold"`` and ``tail="lower"`` it flags tissue darker than healthy brains are at that
    place (hypointense lesions), which a threshold on bright intensity cannot see. Arguments as for
    :class:`medmonai.scoring.VoxelwiseStandardization`.
    """

    template_space = True
