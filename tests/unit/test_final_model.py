"""What the final network can be: the no-pretraining arm's own width and depth, an ensemble of
members, and the logistic baseline reported beside it."""

from dataclasses import dataclass

import numpy as np
import pytest
import torch

from layerwise.learn.models import Ensemble, build_classifier
from layerwise.model.network import load_network, network_from, save_ensemble
from layerwise.search.trials import Trial
from layerwise.stages import finetune
from layerwise.stages.baseline import C_GRID, as_network, logistic_baseline, logistic_regression, prefers_linear
from layerwise.stages.inputs import Tensors

STACK = {
    "layers": [{"n_in": 6, "n_hidden": 5, "activation": "tanh", "weight": torch.zeros(5, 6), "bias": torch.zeros(5)}]
}


@dataclass
class Inputs:
    train: Tensors
    n_classes: int = 3
    device: torch.device = torch.device("cpu")

    def stack(self, rank):
        return STACK if rank is not None else {"layers": []}


def trial(parent_rank, **params):
    return Trial("finetune", 0, 0, 0, parent_rank, 1, {**finetune.DEFAULTS, **params})


INPUTS = Inputs(Tensors(torch.zeros(4, 6), torch.zeros(4, dtype=torch.long)))


@pytest.mark.parametrize("layers", [0, 1, 3])
def test_the_no_pretraining_arm_builds_its_own_width_and_depth(layers):
    params = {**finetune.DEFAULTS, "hidden_layers": layers, "hidden_units": 7, "activation": "tanh"}
    architecture = finetune.architecture(INPUTS, None, params)
    network = build_classifier(architecture)
    linears = [module for module in network if isinstance(module, torch.nn.Linear)]
    assert [(linear.in_features, linear.out_features) for linear in linears] == (
        [(6, 7)] + [(7, 7)] * (layers - 1) + [(7, 3)] if layers else [(6, 3)]  # 0: a softmax regression
    )


def test_a_pretrained_arm_takes_its_stack_shape_and_records_no_shape_of_its_own():
    resolved = finetune.resolve(trial(0, hidden_layers=3, hidden_units=99), INPUTS, {})
    assert not set(finetune.ARCHITECTURE) & set(resolved.params)
    assert finetune.architecture(INPUTS, 0, resolved.params)["layers"] == [
        {"n_in": 6, "n_hidden": 5, "activation": "tanh"}
    ]
    alone = finetune.resolve(trial(None, hidden_layers=3), INPUTS, {})
    assert alone.params["hidden_layers"] == 3


def test_trials_of_different_shapes_never_share_a_pack():
    shapes = ({"hidden_units": 8}, {"hidden_units": 16}, {"hidden_layers": 1}, {"activation": "tanh"}, {"dropout": 0.5})
    keys = [finetune.pack_key(trial(None, **shape), INPUTS) for shape in shapes]
    assert len(set(keys[:4])) == 4 and keys[4] == finetune.pack_key(trial(None), INPUTS)  # dropout: its own
    on_a_stack = [finetune.pack_key(finetune.resolve(trial(0, **shape), INPUTS, {}), INPUTS) for shape in shapes]
    assert len(set(on_a_stack)) == 1  # the stack's shape for all (as a shard resolves them first)


def test_an_ensemble_averages_its_members_class_probabilities(tmp_path):
    torch.manual_seed(0)
    architecture = {"n_in": 4, "layers": [{"n_in": 4, "n_hidden": 3, "activation": "relu"}], "n_classes": 2}
    networks = [build_classifier(architecture) for _ in range(3)]
    x = torch.randn(10, 4)
    expected = torch.stack([torch.softmax(network(x), 1) for network in networks]).mean(0)
    with torch.no_grad():
        assert torch.allclose(torch.softmax(Ensemble(networks)(x), 1), expected, atol=1e-6)
    paths = []
    for index, network in enumerate(networks):
        paths.append(str(tmp_path / f"seed{index}.pt"))
        torch.save({"architecture": architecture, "state_dict": network.state_dict()}, paths[-1])
    save_ensemble(paths, str(tmp_path / "model.pt"))
    loaded, loaded_architecture = load_network(str(tmp_path / "model.pt"))
    assert loaded_architecture == architecture
    with torch.no_grad():
        assert torch.allclose(loaded(x), Ensemble(networks)(x), atol=1e-6)


def scored(checkpoint: dict, split) -> float:
    """The accuracy of a baseline checkpoint's network on a numpy (x, y) split."""
    with torch.no_grad():
        predicted = network_from(checkpoint)(torch.as_tensor(split[0])).argmax(1).numpy()
    return float((predicted == split[1]).mean())


def test_the_logistic_baseline_chooses_its_regularisation_on_validation_data_then_refits_on_both():
    rng = np.random.default_rng(0)

    def split(rows):
        y = rng.integers(0, 2, rows)
        return (rng.normal(size=(rows, 5)) + 2.0 * y[:, None]).astype(np.float32), y

    train, valid, test = split(200), split(100), split(100)
    baseline, checkpoint = logistic_baseline(train, valid, 2)
    assert baseline["C"] in C_GRID and 0.0 <= baseline["valid_error"] < 0.2
    assert scored(checkpoint, test) > 0.9
    noise = (rng.normal(size=(200, 5)).astype(np.float32), rng.integers(0, 2, 200))
    # refit on train + valid, as the reported network: what only the validation rows teach shows on test
    assert scored(logistic_baseline(noise, split(200), 2)[1], split(100)) > 0.8


@pytest.mark.parametrize("n_classes", [2, 3, 4])
def test_the_logistic_baseline_as_a_network_gives_its_class_probabilities(n_classes):
    rng = np.random.default_rng(n_classes)
    y = rng.integers(0, 3 if n_classes == 4 else n_classes, 300)  # with 4: a class the data never has
    x = (rng.normal(size=(300, 6)) + y[:, None] * rng.normal(size=6)).astype(np.float32)
    model = logistic_regression(1.0).fit(x, y)
    network = network_from(as_network(model, 6, n_classes))
    with torch.no_grad():
        probabilities = torch.softmax(network(torch.as_tensor(x)), 1).numpy()
    assert probabilities.shape == (300, n_classes)
    assert np.allclose(probabilities[:, model.classes_], model.predict_proba(x), atol=1e-5)
    assert (probabilities.argmax(1) == model.predict(x)).all()


def test_the_one_standard_error_rule_takes_the_linear_model_the_validation_data_cannot_tell_apart():
    assert prefers_linear(1 / 91, 1 / 91, 91)["linear_preferred"]  # a tie: the simpler model
    assert not prefers_linear(1 / 91, 2 / 91, 91)["linear_preferred"]  # one standard error is 0.0109 < 1/91
    assert prefers_linear(10 / 91, 12 / 91, 91)["linear_preferred"]  # 0.033: two errors more are within
    assert not prefers_linear(10 / 91, 14 / 91, 91)["linear_preferred"]
    rule = prefers_linear(0.27, 0.67, 800)  # MNIST-1D: the network is far ahead
    assert not rule["linear_preferred"] and rule["standard_error"] == pytest.approx(0.0157, abs=1e-4)
    assert not prefers_linear(0.0, 0.01, 100)["linear_preferred"]  # a perfect network: no error is within
