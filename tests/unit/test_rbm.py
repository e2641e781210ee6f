"""The RBM: its free-energy gradient is the CD statistic, CD-k lowers reconstruction error, units fit the data."""

import pytest
import torch

from layerwise.learn import stack as stacks
from layerwise.learn.epochs import Diverged
from layerwise.learn.learners import RBMLayer
from layerwise.learn.rbm import RBM, visible_units_for
from layerwise.learn.training import train_unsupervised
from layerwise.stages import pretrain

PARAMS = {**pretrain.DEFAULTS, "learning_rate": 0.05, "momentum": 0.5, "batch_size": 20, "epochs": 30}


def binary_patterns(n=400, seed=0):
    """Noisy copies of 4 binary prototypes over 16 visible units."""
    generator = torch.Generator().manual_seed(seed)
    prototypes = (torch.rand(4, 16, generator=generator) > 0.5).float()
    x = prototypes[torch.randint(0, 4, (n,), generator=generator)]
    flips = torch.rand(x.shape, generator=generator) < 0.05
    return torch.where(flips, 1 - x, x)


@pytest.mark.parametrize("visible", ["bernoulli", "gaussian"])
def test_the_loss_gradient_is_the_contrastive_divergence_statistic(visible):
    torch.manual_seed(0)
    rbm = RBM(6, 4, visible, cd_steps=1)
    data, chain_end = torch.rand(5, 6), torch.rand(5, 6)
    loss = (rbm.free_energy(data) - rbm.free_energy(chain_end)).mean()
    loss.backward()
    positive = rbm.hidden_probability(data).T @ data / 5
    negative = rbm.hidden_probability(chain_end).T @ chain_end / 5
    # descending this gradient moves W by <h v>_data - <h v>_model, as CD prescribes
    assert torch.allclose(-rbm.encoder.weight.grad, (positive - negative).detach(), atol=1e-6)
    hidden_stat = (rbm.hidden_probability(data) - rbm.hidden_probability(chain_end)).mean(0)
    assert torch.allclose(-rbm.encoder.bias.grad, hidden_stat.detach(), atol=1e-6)
    # dF/dc is -v (Bernoulli) or c - v (Gaussian): either way the difference is data - chain end
    assert torch.allclose(-rbm.visible_bias.grad, (data - chain_end).mean(0), atol=1e-6)


@pytest.mark.parametrize("visible", ["bernoulli", "gaussian"])
def test_the_training_loss_is_per_example_and_visible_unit_as_an_auto_encoders(visible):
    """On the scale of the auto-encoders' reconstruction error (a mean over inputs): the CD statistic
    divided by n_visible, so one learning-rate range means the same step size for both."""
    torch.manual_seed(0)
    rbm = RBM(6, 4, visible, cd_steps=1)
    data = torch.rand(5, 6)
    torch.manual_seed(1)  # the chain draws from torch's generator: the same chain twice
    rbm.training_loss(data).backward()
    per_unit = rbm.encoder.weight.grad.clone()
    rbm.zero_grad()
    torch.manual_seed(1)
    (rbm.free_energy(data) - rbm.free_energy(rbm.negative_sample(data))).mean().backward()
    assert torch.allclose(per_unit * 6, rbm.encoder.weight.grad, atol=1e-6)
    assert per_unit.abs().sum() > 0


@pytest.mark.parametrize("cd_steps", [1, 3])
def test_cd_lowers_the_reconstruction_error_of_binary_data(cd_steps):
    torch.manual_seed(0)
    x = binary_patterns()
    rbm = RBM(16, 8, "bernoulli", cd_steps)
    before = rbm.reconstruction_error(x[300:]).item()
    params = {**PARAMS, "learning_rate": 0.8}  # per visible unit: 0.05 per example, 16 units
    result = train_unsupervised(rbm, x[:300], x[300:], params, torch.Generator().manual_seed(0))
    after = result["history"]["valid_loss"][-1]
    assert after < 0.5 * before


def test_gaussian_visible_units_learn_real_valued_data():
    torch.manual_seed(0)
    codes = torch.randn(400, 3)
    x = codes @ torch.randn(3, 10) * 0.5 + 0.1 * torch.randn(400, 10)
    rbm = RBM(10, 12, "gaussian", cd_steps=1)
    before = rbm.reconstruction_error(x[300:]).item()
    params = {**PARAMS, "learning_rate": 0.05}  # per visible unit: 0.005 per example, 10 units
    train_unsupervised(rbm, x[:300], x[300:], params, torch.Generator().manual_seed(0))
    assert rbm.reconstruction_error(x[300:]).item() < 0.7 * before


def test_a_diverging_rbm_is_reported_as_divergence():
    torch.manual_seed(0)
    x = binary_patterns()
    with pytest.raises(Diverged, match="hidden probabilities are not finite"):
        train_unsupervised(RBM(16, 8, "gaussian", 1), x, x, {**PARAMS, "learning_rate": 1e3}, torch.Generator())


def test_visible_units_follow_the_input_range():
    assert visible_units_for(torch.rand(10, 3), "auto") == "bernoulli"
    assert visible_units_for(torch.randn(10, 3), "auto") == "gaussian"
    assert visible_units_for(torch.rand(10, 3), "gaussian") == "gaussian"
    with pytest.raises(ValueError, match=r"rbm_visible: bernoulli needs inputs in \[0, 1\]"):
        visible_units_for(torch.randn(10, 3), "bernoulli")


def test_gaussian_visible_units_standardize_their_input_and_the_layer_takes_raw_input():
    """Unit variance holds for the data the RBM sees, whatever the scale of the layer below; the layer
    it passes up folds the standardization in."""
    torch.manual_seed(0)
    codes = torch.randn(400, 3)
    x = (codes @ torch.randn(3, 10) * 0.5 + 0.1 * torch.randn(400, 10)) * 40.0 + 100.0  # far from unit variance
    params = {**PARAMS, "algorithm": "rbm", "hidden_units": 12, "rbm_visible": "gaussian", "learning_rate": 0.05}
    learner = RBMLayer(params).fit(x[:300], x[300:], torch.Generator().manual_seed(0))
    model = learner.model_
    assert torch.allclose(model.input_mean, x[:300].mean(0)) and torch.allclose(model.input_std, x[:300].std(0))
    with torch.no_grad():
        expected = model.hidden_probability(model.standardized(x))
    assert torch.allclose(stacks.encode({"layers": [learner.layer_]}, x), expected, atol=1e-5)
    assert learner.reconstruction_["valid"] < 1.0  # below the variance of standardized data: it learned
