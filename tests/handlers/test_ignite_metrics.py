import pytest
import torch

from medmonai.handlers import mean_of


def test_mean_over_items_not_batches():
    metric = mean_of("elbo")
    metric.update(metric._output_transform({"elbo": torch.tensor([1.0, 2.0, 3.0])}))
    metric.update(metric._output_transform({"elbo": torch.tensor([10.0])}))
    assert metric.compute() == pytest.approx(4.0)  # (1 + 2 + 3 + 10) / 4 items
    assert isinstance(metric.compute(), float)


def test_mean_of_scalars_over_iterations():
    metric = mean_of("loss")
    for value in (2.0, 4.0):
        metric.update(metric._output_transform({"loss": torch.tensor(value)}))
    assert metric.compute() == pytest.approx(3.0)
