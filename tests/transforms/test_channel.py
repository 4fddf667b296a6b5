import numpy as np
import pytest
import torch

from medmonai.errors import DataError
from medmonai.transforms import SelectChannel, SelectModalityd


@pytest.mark.parametrize("make", [lambda a: a, torch.as_tensor], ids=["numpy", "torch"])
def test_select_channel_keeps_type_and_one_channel(make):
    stacked = make(np.stack([np.full((3, 3), i, np.float32) for i in range(4)]))
    out = SelectChannel(2)(stacked)
    assert type(out) is type(stacked) and tuple(out.shape) == (1, 3, 3) and float(out.max()) == 2
    assert float(SelectChannel(-1)(stacked).max()) == 3


def test_select_channel_out_of_range():
    with pytest.raises(DataError, match="has 4 channels, cannot select channel 4"):
        SelectChannel(4)(np.zeros((4, 2, 2)))


def test_select_modality_by_name_and_by_index():
    case = {"dwi": np.ones((1, 2, 2)), "flair": np.zeros((1, 2, 2)), "case_id": "5"}
    assert SelectModalityd("dwi")(case)["image"].max() == 1
    stacked = {"image": np.stack([np.zeros((2, 2)), np.ones((2, 2))])}
    assert SelectModalityd(1)(stacked)["image"].shape == (1, 2, 2)


def test_select_modality_missing_names_the_case():
    with pytest.raises(DataError, match=r"5: no 'dwi'; available: \['flair'\]"):
        SelectModalityd("dwi")({"flair": np.zeros((1, 2, 2)), "case_id": "5", "label": "mask.nii"})
