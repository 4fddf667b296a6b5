import numpy as np
import pytest
import torch

from medmonai.errors import ConfigError
from medmonai.transforms import FitToCanvas

INPUTS = [
    {"name": "numpy", "make": lambda a: a, "type": np.ndarray},  # numpy in, numpy out
    {"name": "torch", "make": torch.as_tensor, "type": torch.Tensor},  # tensor in, tensor out
]


@pytest.mark.parametrize("case", INPUTS, ids=lambda c: c["name"])
def test_fit_to_canvas_shape_type_and_layout(case):
    image = np.zeros((2, 8, 8), np.float32)
    image[:, 2:6, 2:6] = 1.0
    out = FitToCanvas(box_size=(20, 20), canvas_size=(28, 28))(case["make"](image))
    assert isinstance(out, case["type"])
    out = np.asarray(out)
    assert out.shape == (2, 28, 28)
    assert out.min() >= 0.0 and out.max() <= 1.0
    assert out[:, :4].max() == 0 and out[:, 24:].max() == 0  # zero border outside the box
    centre = np.argwhere(out[0] > 0.5).mean(0)
    np.testing.assert_allclose(centre, [13.5, 13.5], atol=0.6)  # content centred on the canvas


def test_fit_to_canvas_clamps_bicubic_overshoot():
    image = np.zeros((1, 8, 8), np.float32)
    image[:, ::2] = 1.0
    out = FitToCanvas(mode="bicubic")(image)
    assert out.min() >= 0.0 and out.max() <= 1.0


def test_fit_to_canvas_rejects_wrong_ndim():
    with pytest.raises(ValueError, match=r"img must have shape \(C, 2 spatial dims\), got \(8, 8\)"):
        FitToCanvas()(np.zeros((8, 8)))


def test_fit_to_canvas_rejects_box_larger_than_canvas():
    with pytest.raises(ConfigError, match="box_size must fit inside canvas_size"):
        FitToCanvas(box_size=(30, 30), canvas_size=(28, 28))
