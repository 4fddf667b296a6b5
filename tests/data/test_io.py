import numpy as np

from medmonai.data.io import unit_range


def test_eight_bit_data_is_divided_by_255_and_unit_data_is_kept():
    assert np.allclose(unit_range(np.array([0, 51, 255], np.uint8)), [0.0, 0.2, 1.0])
    assert np.allclose(unit_range(np.array([0, 1], np.uint8)), [0.0, 1 / 255])  # uint8 is 8-bit, whatever its max
    assert np.array_equal(unit_range(np.array([0.0, 0.5, 1.0])), [0.0, 0.5, 1.0])
    assert np.allclose(unit_range(np.array([0.0, 127.5])), [0.0, 0.5])
    assert unit_range(np.array([3], np.int64)).dtype == np.float32
