"""Learning rates per layer and for biases, Nesterov, and the two weight-initialization rules."""

import math

import pytest
import torch

from layerwise.learn.models import build_classifier, init_linear
from layerwise.learn.optim import SGDSettings, layer_lr_scales, make_optimizer
from layerwise.stages import finetune

ARCHITECTURE = {
    "n_in": 6,
    "layers": [{"n_in": 6, "n_hidden": 5, "activation": "relu"}, {"n_in": 5, "n_hidden": 4, "activation": "relu"}],
    "n_classes": 3,
}


def test_layer_wise_learning_rates_decay_from_top_to_bottom_and_biases_have_their_own():
    model = build_classifier(ARCHITECTURE)
    params = {**finetune.DEFAULTS, "learning_rate": 0.1, "bias_lr_scale": 2.0, "nesterov": True}
    optimizer = make_optimizer(model, SGDSettings.of(params), [(0.0, 0.1)] * 3, layer_lr_scales(3, 0.5))
    rates = [group["lr"] for group in optimizer.param_groups]
    decayed = [group.get("l2", 0.0) > 0 for group in optimizer.param_groups]
    # bottom, middle, output layer: weights then biases of each
    assert rates == pytest.approx([0.025, 0.05, 0.05, 0.1, 0.1, 0.2])
    assert decayed == [True, False] * 3
    assert all(group["nesterov"] for group in optimizer.param_groups)
    assert sum(len(group["params"]) for group in optimizer.param_groups) == len(list(model.parameters()))


@pytest.mark.parametrize(
    "rule, distribution, expected_std",
    [
        ("fan_avg", "uniform", 1.5 * math.sqrt(6 / (400 + 300)) / math.sqrt(3)),
        ("fan_avg", "normal", 1.5 * math.sqrt(6 / (400 + 300))),
        ("fan_in", "uniform", 1.5 / math.sqrt(400) / math.sqrt(3)),
        ("fan_in", "normal", 1.5 / math.sqrt(400)),
    ],
)
def test_initial_weights_have_the_scale_of_their_rule_and_biases_are_zero(rule, distribution, expected_std):
    torch.manual_seed(0)
    layer = torch.nn.Linear(400, 300)
    init_linear(layer, scale=1.5, rule=rule, distribution=distribution)
    assert layer.weight.std().item() == pytest.approx(expected_std, rel=0.02)
    assert layer.weight.mean().item() == pytest.approx(0.0, abs=expected_std * 0.02)
    assert torch.count_nonzero(layer.bias) == 0
