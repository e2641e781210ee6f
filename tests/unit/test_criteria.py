"""The auto-encoder criteria: reconstruction losses and sparsity penalties, against hand-computed values."""

import math

import pytest
import torch

from layerwise.learn.criteria import kl_sparsity, l1_activity, reconstruction_loss, student_t_sparsity
from layerwise.learn.models import DenoisingAutoencoder, corrupt
from layerwise.learn.training import train_unsupervised
from layerwise.stages import pretrain

H = torch.tensor([[0.1, 0.5], [0.3, 0.7]])  # two examples, two hidden units


def test_kl_sparsity_matches_a_hand_computed_value():
    p = 0.2
    rho = [0.2, 0.6]  # mean activation of each unit
    expected = sum(p * math.log(p / r) + (1 - p) * math.log((1 - p) / (1 - r)) for r in rho)
    assert kl_sparsity(H, p).item() == pytest.approx(expected)
    assert kl_sparsity(torch.full((3, 4), 0.2), 0.2).item() == pytest.approx(0.0, abs=1e-7)


def test_l1_and_student_t_penalties_are_per_example_sums_averaged_over_the_batch():
    assert l1_activity(-H).item() == pytest.approx((0.6 + 1.0) / 2)
    expected = (math.log(1.01) + math.log(1.25) + math.log(1.09) + math.log(1.49)) / 2
    assert student_t_sparsity(H).item() == pytest.approx(expected)


def test_reconstruction_pairs():
    x = torch.tensor([[0.0, 1.0]])
    pre = torch.tensor([[0.5, -0.5]])
    assert reconstruction_loss("squared_error", pre, x).item() == pytest.approx((0.25 + 2.25) / 2)
    expected = (
        -math.log(1 - torch.sigmoid(torch.tensor(0.5)).item()) - math.log(torch.sigmoid(torch.tensor(-0.5)).item())
    ) / 2
    assert reconstruction_loss("cross_entropy", pre, x).item() == pytest.approx(expected)


def toy_data():
    generator = torch.Generator().manual_seed(0)
    codes = torch.rand(300, 3, generator=generator)
    return torch.sigmoid(4 * (codes @ torch.randn(3, 10, generator=generator)) - 2)  # in (0, 1)


@pytest.mark.parametrize(
    "activation, reconstruction",
    [("sigmoid", "cross_entropy"), ("tanh", "squared_error"), ("softplus", "cross_entropy")],
)
def test_each_output_and_loss_pair_learns(activation, reconstruction):
    torch.manual_seed(0)
    x = toy_data()
    model = DenoisingAutoencoder(10, 6, activation, corruption=0.1, reconstruction=reconstruction)
    params = {**pretrain.DEFAULTS, "learning_rate": 0.1, "epochs": 20}
    result = train_unsupervised(model, x[:200], x[200:], params, torch.Generator().manual_seed(0))
    losses = result["history"]["valid_loss"]
    assert losses[-1] < 0.8 * losses[0]


def test_kl_sparsity_pulls_mean_activations_to_the_target():
    x = toy_data()
    means = {}
    for weight in (0.0, 1.0):
        torch.manual_seed(0)
        sparsity = {"sparsity_l1": 0.0, "sparsity_student_t": 0.0, "sparsity_kl": weight, "sparsity_target": 0.05}
        model = DenoisingAutoencoder(10, 8, "sigmoid", corruption=0.0, sparsity=sparsity)
        params = {**pretrain.DEFAULTS, "learning_rate": 0.1, "epochs": 30}
        train_unsupervised(model, x[:200], x[200:], params, torch.Generator().manual_seed(0))
        means[weight] = model.encode(x).mean().item()
    assert means[1.0] < 0.15 < means[0.0]


def test_gaussian_corruption_adds_noise_of_the_given_scale():
    generator = torch.Generator().manual_seed(0)
    assert corrupt(torch.zeros(50, 1000), 0.3, "gaussian", generator).std().item() == pytest.approx(0.3, rel=0.02)
    kept = (corrupt(torch.ones(50, 1000), 0.3, "masking", generator) != 0).float().mean().item()
    assert kept == pytest.approx(0.7, abs=0.01)


def test_corruption_noise_comes_from_the_trials_generator_alone():
    x = torch.ones(20, 30)
    first = corrupt(x, 0.5, "masking", torch.Generator().manual_seed(3))
    torch.rand(100)  # the global generator moves; the trial's noise must not
    assert torch.equal(first, corrupt(x, 0.5, "masking", torch.Generator().manual_seed(3)))
    assert not torch.equal(first, corrupt(x, 0.5, "masking", torch.Generator().manual_seed(4)))
