import numpy as np
import pytest
import torch

from medmonai.data.canvas import canvas_sizes, fit_to_canvas
from medmonai.errors import ConfigError


def test_a_stack_of_images_is_resized_into_the_centred_box_of_a_zero_canvas():
    stack = np.stack([np.full((8, 8), v, np.float32) for v in (0.25, 1.0)])
    out = fit_to_canvas(stack, box_size=(20, 20), canvas_size=(28, 28))
    assert isinstance(out, np.ndarray) and out.shape == (2, 28, 28)
    assert np.allclose(out[:, 4:24, 4:24], np.array([0.25, 1.0])[:, None, None])  # each image keeps its value
    out[:, 4:24, 4:24] = 0
    assert not out.any()  # the 4-pixel border is zero


def test_the_input_type_comes_back_and_bicubic_overshoot_is_clamped():
    image = torch.zeros(1, 8, 8)
    image[0, 2:6, 2:6] = 1.0
    out = fit_to_canvas(image, mode="bicubic")
    assert isinstance(out, torch.Tensor) and float(out.min()) >= 0.0 and float(out.max()) <= 1.0


@pytest.mark.parametrize("box, canvas", [((30, 30), (28, 28)), ((20,), (28, 28)), ((0, 20), (28, 28))])
def test_a_box_that_does_not_fit_the_canvas_is_refused(box, canvas):
    with pytest.raises(ConfigError, match="box_size must fit inside canvas_size dim by dim"):
        canvas_sizes(box, canvas)


def test_an_image_without_a_channel_axis_is_refused():
    with pytest.raises(ValueError, match=r"img must have shape \(C, 2 spatial dims\)"):
        fit_to_canvas(np.zeros((8, 8), np.float32))
