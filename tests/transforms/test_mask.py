"""Moving the brain-mask edge of masked training patches."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from medmonai.errors import ConfigError
from medmonai.transforms import RandMaskEdge, RandMaskEdged


def masked_cube():
    mask = torch.zeros(1, 16, 16, 16)
    mask[:, 4:12, 4:12, 4:12] = 1
    return torch.rand(1, 16, 16, 16, generator=torch.Generator().manual_seed(0)) * 0.5 + 0.25, mask


def test_growing_fills_only_a_rim_of_the_drawn_width_and_keeps_the_brain():
    image, mask = masked_cube()
    edge = RandMaskEdge(prob=1.0, max_grow=2, rim_range=(1.2, 1.2))
    sizes = set()
    for seed in range(12):
        edge.set_random_state(seed)
        out = edge(image * mask, mask)
        inside = mask[0] > 0
        sizes.add(int((out[0] != 0).sum()))
        if edge._grow > 0:
            assert torch.equal(out[0][inside], (image * mask)[0][inside])  # the brain is untouched
            rim = (out[0] != 0) & ~inside
            assert int(rim.sum()) == (8 + 2 * edge._grow) ** 3 - 8**3
            assert abs(float(out[0][rim].mean()) - 1.2) < 0.1
        else:
            assert int((out[0] != 0).sum()) == 6**3  # one voxel shaved off every face
    assert sizes >= {6**3, 10**3, 12**3}  # shrink, grow by 1 and by 2 all drawn


def test_prob_zero_and_the_dict_wrapper():
    image, mask = masked_cube()
    assert torch.equal(RandMaskEdge(prob=0.0)(image * mask, mask), image * mask)
    wrapper = RandMaskEdged("image", mask_key="brain_mask", prob=1.0).set_random_state(3)
    out = wrapper({"image": (image * mask).numpy(), "brain_mask": mask})
    assert isinstance(out["image"], torch.Tensor) and out["image"].shape == (1, 16, 16, 16)
    assert not torch.equal(out["image"], image * mask)
    np.testing.assert_array_equal(out["brain_mask"], mask)


def test_bad_settings():
    with pytest.raises(ConfigError, match="max_grow >= 1"):
        RandMaskEdge(max_grow=0)
