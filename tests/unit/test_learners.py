"""Layer learners: every pretraining algorithm fits and transforms, and reads only its own hyper-parameters."""

import pytest
import torch

from layerwise.learn.learners import ALGORITHMS, learner_for
from layerwise.records import TrialRecord
from layerwise.stages import pretrain
from support.specs import stage_spec

PARAMS = {**pretrain.DEFAULTS, "hidden_units": 5, "epochs": 3, "batch_size": 16, "learning_rate": 0.05}


def data(low=0.0):
    generator = torch.Generator().manual_seed(0)
    return torch.rand(120, 8, generator=generator) * (1 - low) + low, torch.rand(40, 8, generator=generator)


@pytest.mark.parametrize("algorithm", sorted(ALGORITHMS))
def test_every_algorithm_learns_a_layer_that_transforms_its_input(algorithm):
    torch.manual_seed(0)
    x_train, x_valid = data()
    learner = learner_for({**PARAMS, "algorithm": algorithm}).fit(x_train, x_valid, torch.Generator().manual_seed(0))
    assert learner.layer_["weight"].shape == (5, 8) and learner.layer_["n_in"] == 8
    features = learner.transform(x_valid)
    assert features.shape == (40, 5) and torch.isfinite(features).all()
    trained = algorithm != "none"
    assert (learner.stopped_epoch_ == 3) == trained and (learner.reconstruction_ is not None) == trained


def test_no_pretraining_keeps_the_initial_weights_and_an_rbm_passes_up_its_hidden_probabilities():
    x_train, x_valid = data()
    torch.manual_seed(1)
    untrained = learner_for({**PARAMS, "algorithm": "none"}).fit(x_train, x_valid, None)
    torch.manual_seed(1)
    reference = torch.nn.Linear(8, 5)
    assert untrained.layer_["weight"].abs().max() <= (6 / 13) ** 0.5  # the fan_avg width, not nn.Linear's
    assert untrained.layer_["bias"].eq(0).all() and not torch.equal(untrained.layer_["weight"], reference.weight)
    rbm = learner_for({**PARAMS, "algorithm": "rbm", "activation": "relu"}).fit(x_train, x_valid, torch.Generator())
    assert rbm.layer_["activation"] == "sigmoid"
    assert torch.allclose(rbm.transform(x_valid), rbm.model_.hidden_probability(x_valid))


def test_a_plain_autoencoder_ignores_corruption_and_sparsity_settings():
    x_train, x_valid = data()

    def weights(**params):
        torch.manual_seed(0)
        learner = learner_for({**PARAMS, "algorithm": "autoencoder", **params})
        return learner.fit(x_train, x_valid, torch.Generator().manual_seed(0)).layer_["weight"]

    assert torch.equal(weights(corruption=0.0), weights(corruption=0.4, sparsity_l1=1.0))
    denoising = learner_for({**PARAMS, "algorithm": "denoising_autoencoder", "corruption": 0.4})
    assert denoising.params["corruption"] == 0.4 and "sparsity_l1" not in denoising.params


class FakeInputs:
    def __init__(self, x):
        self.x = x

    def unsupervised(self, rank):
        return self.x


@pytest.mark.parametrize(
    ("algorithm", "low", "present", "absent"),
    [
        ("rbm", 0.0, {"cd_k": 1, "rbm_visible": "bernoulli"}, ("activation", "corruption", "sparsity_kl")),
        ("rbm", -1.0, {"rbm_visible": "gaussian"}, ("reconstruction",)),
        ("none", 0.0, {"activation": "sigmoid"}, ("learning_rate", "epochs", "corruption")),
        ("sparse_autoencoder", 0.0, {"sparsity_kl": 0.0, "activation": "sigmoid"}, ("corruption", "cd_k")),
    ],
)
def test_a_trial_records_only_what_its_algorithm_uses(algorithm, low, present, absent):
    trial = TrialRecord.planned("layer1", 0, 0, 0, None, 7, {**PARAMS, "algorithm": algorithm})
    params = pretrain.resolve(trial, FakeInputs(data(low)[0]), stage_spec()).params
    assert params["algorithm"] == algorithm and params["hidden_units"] == 5
    assert present.items() <= params.items()
    assert not set(absent) & set(params)
