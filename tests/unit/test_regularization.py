"""Weight decay as the seed states it: penalty gradients scaled by B/T (and B'/B), weights only, proximal L1."""

import torch

from layerwise.data.sets import Split
from layerwise.learn.models import build_classifier
from layerwise.learn.optim import SGDSettings, make_optimizer
from layerwise.learn.regularization import classifier_coefficients, layer_group, weight_penalty
from layerwise.learn.training import train_classifier
from layerwise.stages import finetune

ARCHITECTURE = {
    "n_in": 5,
    "layers": [{"n_in": 5, "n_hidden": 4, "activation": "tanh"}, {"n_in": 4, "n_hidden": 4, "activation": "tanh"}],
    "n_classes": 3,
}


def penalty_gradients(l1: float, l2: float, batch: int, n_train: int):
    torch.manual_seed(0)
    model = build_classifier(ARCHITECTURE)
    optimizer = make_optimizer(model, SGDSettings.of(finetune.DEFAULTS), [(l1, l2)] * 3)
    weight_penalty(optimizer, batch, n_train, proximal_l1=False).backward()
    return model


def test_l2_penalty_gradient_is_two_lambda_b_over_t_w_and_zero_on_biases():
    model = penalty_gradients(l1=0.0, l2=0.3, batch=32, n_train=1000)
    for layer in (m for m in model if isinstance(m, torch.nn.Linear)):
        assert torch.allclose(layer.weight.grad, 2 * 0.3 * (32 / 1000) * layer.weight)
        assert layer.bias.grad is None


def test_the_last_short_batch_carries_b_prime_over_b_of_the_penalty():
    full = penalty_gradients(l1=0.2, l2=0.3, batch=32, n_train=1000)
    short = penalty_gradients(l1=0.2, l2=0.3, batch=8, n_train=1000)
    assert torch.allclose(short[0].weight.grad, full[0].weight.grad * 8 / 32)


def test_l1_penalty_gradient_is_lambda_b_over_t_sign_w():
    model = penalty_gradients(l1=0.5, l2=0.0, batch=10, n_train=100)
    assert torch.allclose(model[0].weight.grad, 0.5 * 0.1 * model[0].weight.sign())


def test_input_hidden_and_output_layers_take_their_own_coefficients():
    params = {**finetune.DEFAULTS, "l2_input": 1.0, "l2_hidden": 2.0, "l2_output": 3.0, "l1_hidden": 0.5}
    assert [layer_group(position, 3) for position in range(3)] == ["input", "hidden", "output"]
    assert classifier_coefficients(params, 3) == [(0.0, 1.0), (0.5, 2.0), (0.0, 3.0)]
    assert classifier_coefficients(params, 2) == [(0.0, 1.0), (0.0, 3.0)]


def train_with_l1(proximal: bool):
    torch.manual_seed(0)
    x = torch.randn(256, 5)
    y = (x[:, 0] > 0).long() + (x[:, 1] > 0).long()
    model = build_classifier(ARCHITECTURE)
    params = {**finetune.DEFAULTS, "learning_rate": 0.1, "max_epochs": 30, "l1_input": 100.0, "proximal_l1": proximal}
    train_classifier(model, Split(x, y), Split(x, y), params, 0, torch.Generator().manual_seed(0), [1, 1, 1])
    return model[0].weight


def test_proximal_l1_gives_exact_zeros_where_plain_sgd_does_not():
    proximal, plain = train_with_l1(True), train_with_l1(False)
    assert (proximal == 0).sum() >= 5
    assert (plain == 0).sum() == 0
