import pytest
import torch
from torch.distributions import Normal, kl_divergence

from medmonai.errors import ConfigError
from medmonai.losses import ELBOLoss, gaussian_kl, reconstruction_nll


def test_gaussian_kl_matches_torch_distributions():
    torch.manual_seed(0)
    mu, logvar = torch.randn(4, 3), torch.randn(4, 3)
    expected = kl_divergence(Normal(mu, torch.exp(0.5 * logvar)), Normal(0.0, 1.0)).sum(1)
    torch.testing.assert_close(gaussian_kl(mu, logvar), expected)


def test_gaussian_kl_is_zero_at_the_prior():
    assert gaussian_kl(torch.zeros(2, 5), torch.zeros(2, 5)).abs().max() == 0


def test_bce_is_bernoulli_nll_summed_per_image():
    recon = torch.tensor([[[[0.9, 0.2], [0.5, 0.7]]]])
    target = torch.tensor([[[[1.0, 0.0], [1.0, 0.5]]]])
    expected = -(target * recon.log() + (1 - target) * (1 - recon).log()).sum()
    torch.testing.assert_close(reconstruction_nll(recon, target, "bce"), expected.reshape(1))


@pytest.mark.parametrize(
    "case",
    [
        {"kind": "mse", "expected": 0.25 + 0.04 + 0.0 + 0.09},  # squared errors summed
        {"kind": "l1", "expected": 0.5 + 0.2 + 0.0 + 0.3},  # absolute errors summed
    ],
)
def test_mse_and_l1_sum_per_image(case):
    recon = torch.tensor([[[[0.5, 0.2], [1.0, 0.2]]]])
    target = torch.tensor([[[[1.0, 0.0], [1.0, 0.5]]]])
    torch.testing.assert_close(reconstruction_nll(recon, target, case["kind"]), torch.tensor([case["expected"]]))


def test_elbo_loss_is_batch_mean_of_recon_plus_beta_kl():
    torch.manual_seed(1)
    recon, target = torch.rand(3, 1, 4, 4), torch.rand(3, 1, 4, 4)
    mu, logvar = torch.randn(3, 2), torch.randn(3, 2)
    expected = (reconstruction_nll(recon, target, "mse") + 0.5 * gaussian_kl(mu, logvar)).mean()
    torch.testing.assert_close(ELBOLoss("mse", beta=0.5)(recon, target, mu, logvar), expected)


def test_unknown_reconstruction():
    with pytest.raises(ConfigError, match=r"reconstruction must be one of \('bce', 'mse', 'l1'\), got 'huber'"):
        ELBOLoss("huber")


def test_negative_beta():
    with pytest.raises(ConfigError, match="beta must be >= 0, got -1"):
        ELBOLoss(beta=-1)
