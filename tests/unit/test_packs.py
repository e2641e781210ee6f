"""Trials trained together as one batched model (batched.py) give what each gives alone."""

import math

import pytest
import torch

from layerwise.learn.learners import learner_for
from layerwise.packs.autoencoders import pack_key, train_pack
from layerwise.seeding import seed_everything
from layerwise.stages import pretrain

TOLERANCE = 1e-4  # relative, on every metric of every epoch

# Every hyper-parameter a packed trial keeps for itself, varied across the pack; sigmoid units
# make the padding of the narrower layers matter (a padded sigmoid unit is 0.5 unless masked).
VARIED = [
    {"hidden_units": 7, "learning_rate": 0.05, "momentum": 0.9, "corruption": 0.3, "epochs": 4},
    {"hidden_units": 3, "learning_rate": 0.2, "momentum": 0.5, "nesterov": True, "l2": 0.1, "epochs": 3},
    {"hidden_units": 5, "learning_rate": 0.1, "lr_schedule": "inverse_time", "lr_tau": 20, "corruption": 0.2,
     "corruption_type": "gaussian", "l1": 0.05, "proximal_l1": True, "epochs": 5},
    {"hidden_units": 7, "learning_rate": 0.02, "momentum": 0.0, "bias_lr_scale": 0.5, "l1": 0.02, "patience": 1,
     "lr_schedule": "inverse_time_epochs", "lr_tau_epochs": 2, "epochs": 6},
    {"algorithm": "autoencoder", "hidden_units": 4, "learning_rate": 0.05, "patience": 2, "epochs": 6},
]  # fmt: skip


def trial_params(overrides: dict) -> dict:
    params = {**pretrain.DEFAULTS, "algorithm": "denoising_autoencoder", "batch_size": 16, **overrides}
    return {"algorithm": params["algorithm"], **learner_for(params).params}


@pytest.fixture(scope="module")
def splits():
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(170, 6, generator=generator) @ torch.randn(6, 6, generator=generator)
    return x[:130], x[130:]


def alone(params: dict, seed: int, x_train, x_valid):
    seed_everything(seed)  # as shard.run_one
    return learner_for(params).fit(x_train, x_valid, torch.Generator().manual_seed(seed))


def together(all_params: list[dict], seeds: list[int], x_train, x_valid, listeners=None):
    learners, models, generators = [], [], []
    for params, seed in zip(all_params, seeds, strict=True):
        seed_everything(seed)
        generators.append(torch.Generator().manual_seed(seed))
        learners.append(learner_for(params))
        models.append(learners[-1].start(x_train, generators[-1]))
    listeners = listeners or [None] * len(models)
    results = train_pack(models, [learner.params for learner in learners], generators, listeners, x_train, x_valid)
    return [
        result if isinstance(result, Exception) else learner.finish(model, result, x_train, x_valid)
        for learner, model, result in zip(learners, models, results, strict=True)
    ]


def assert_close(packed, single):
    assert (packed.best_epoch_, packed.stopped_epoch_) == (single.best_epoch_, single.stopped_epoch_)
    assert packed.history_.keys() == single.history_.keys()
    for name, values in single.history_.items():
        assert packed.history_[name] == pytest.approx(values, rel=TOLERANCE)
    assert packed.reconstruction_ == pytest.approx(single.reconstruction_, rel=TOLERANCE)
    assert packed.layer_["weight"].shape == single.layer_["weight"].shape
    assert torch.allclose(packed.layer_["weight"], single.layer_["weight"], rtol=TOLERANCE, atol=1e-6)
    assert torch.allclose(packed.layer_["bias"], single.layer_["bias"], rtol=TOLERANCE, atol=1e-6)


@pytest.mark.parametrize("activation", ["sigmoid", "tanh"])
def test_each_trial_of_a_pack_ends_where_it_ends_alone(splits, activation):
    params = [trial_params({**overrides, "activation": activation}) for overrides in VARIED]
    seeds = [11, 12, 13, 14, 15]
    heard = [[] for _ in params]
    listeners = [lambda epoch, metrics, log=log: log.append((epoch, metrics)) for log in heard]
    packed = together(params, seeds, *splits, listeners)
    for trial, (p, seed) in enumerate(zip(params, seeds, strict=True)):
        single = alone(p, seed, *splits)
        assert_close(packed[trial], single)
        assert [epoch for epoch, _ in heard[trial]] == list(range(1, single.stopped_epoch_ + 1))  # live curves
    assert len({learner.stopped_epoch_ for learner in packed}) >= 3  # trials left the pack at different epochs


def test_a_trial_that_diverges_leaves_the_pack_and_the_others_go_on(splits):
    params = [trial_params({"learning_rate": rate, "epochs": 3}) for rate in (0.05, 1.0e8, 0.1)]
    packed = together(params, [1, 2, 3], *splits)
    assert isinstance(packed[1], Exception) and "became" in str(packed[1])
    for trial in (0, 2):
        assert_close(packed[trial], alone(params[trial], trial + 1, *splits))
        assert all(math.isfinite(value) for value in packed[trial].history_["valid_loss"])


def test_only_auto_encoders_with_the_same_input_batch_activation_and_criterion_share_a_pack():
    base = trial_params({"activation": "tanh"})
    assert pack_key(base, 0) == pack_key({**base, "learning_rate": 0.5, "hidden_units": 9, "epochs": 2}, 0)
    assert pack_key({**base, "algorithm": "autoencoder"}, 0) == pack_key(base, 0)
    for other in ({"batch_size": 32}, {"activation": "relu"}, {"reconstruction": "cross_entropy"}):
        assert pack_key({**base, **other}, 0) != pack_key(base, 0)
    assert pack_key(base, 1) != pack_key(base, 0)  # another parent stack: another input
    for algorithm in ("rbm", "sparse_autoencoder", "none"):
        assert pack_key({**base, "algorithm": algorithm}, 0) is None
