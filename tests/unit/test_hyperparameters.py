"""The hyper-parameter table agrees with what uses it: the stages' spaces, border extension, the
learners, and the modules that implement each symbolic hyper-parameter's words. (The schema's
descriptions and the docs' reference: test_schema_docs, test_docs; checking a config without torch:
test_architecture.)"""

import numpy as np
import pytest
import torch

from layerwise import hyperparameters as hp
from layerwise.data.transforms import build_step
from layerwise.learn.criteria import reconstruction_loss
from layerwise.learn.learners import ALGORITHMS
from layerwise.learn.models import ACTIVATIONS, NOISE, init_linear
from layerwise.learn.optim import SGDSettings, lr_factor
from layerwise.learn.rbm import RBM, visible_units_for
from layerwise.stages import finetune, preprocess, pretrain

STAGES = {"preprocess": preprocess, "pretrain": pretrain, "finetune": finetune}


@pytest.mark.parametrize("stage", hp.STAGES)
def test_each_stage_searches_the_table_s_entries_with_their_defaults(stage):
    assert STAGES[stage].DEFAULTS == hp.defaults(stage)
    assert STAGES[stage].DEFAULTS, stage


@pytest.mark.parametrize("name", hp.TABLE)
def test_each_default_is_a_value_its_hyper_parameter_admits(name):
    entry = hp.TABLE[name]
    assert entry.defaults and set(entry.defaults) <= set(hp.STAGES)
    for stage, default in entry.defaults.items():
        assert entry.admits(default), (stage, default)
        if entry.integer:
            assert isinstance(default, int) and not isinstance(default, bool), (stage, default)


@pytest.mark.parametrize("name", [name for name, entry in hp.TABLE.items() if entry.widest])
def test_border_extension_never_widens_a_range_past_what_the_config_check_admits(name):
    low, high = hp.TABLE[name].widest
    assert low < high
    assert hp.TABLE[name].admits(low) and hp.TABLE[name].admits(high)


def test_an_integer_hyper_parameter_takes_a_whole_float_but_no_fraction_or_boolean():
    units = hp.TABLE["hidden_units"]
    assert units.admits(64) and units.admits(64.0)
    assert not units.admits(64.5) and not units.admits(True) and not units.admits("64")
    assert not hp.TABLE["learning_rate"].admits("fast")  # a comparison that fails is a refusal, not a crash


def test_each_learner_uses_only_pretraining_hyper_parameters():
    assert tuple(ALGORITHMS) == hp.ALGORITHMS
    for algorithm, learner in ALGORITHMS.items():
        assert set(learner.uses) <= set(hp.defaults("pretrain")), algorithm


def test_the_implementations_key_their_objects_by_the_table_s_words():
    assert tuple(ACTIVATIONS) == hp.ACTIVATIONS
    assert tuple(NOISE) == hp.CORRUPTIONS


def pairwise_different(values: list) -> bool:
    return all(not np.allclose(a, b) for i, a in enumerate(values) for b in values[i + 1 :])


def test_each_learning_rate_schedule_is_its_own_schedule():
    params = {**finetune.DEFAULTS, "lr_tau": 3, "lr_tau_epochs": 2}
    curves = []
    for schedule in hp.SCHEDULES:
        factor = lr_factor(SGDSettings.of({**params, "lr_schedule": schedule}), updates_per_epoch=2)
        curves.append([1.0 if factor is None else factor(t) for t in range(12)])
    assert pairwise_different(curves)


def test_each_initialization_rule_and_distribution_is_its_own():
    def weights(**options):
        torch.manual_seed(0)
        layer = torch.nn.Linear(40, 10)
        init_linear(layer, **options)
        return layer.weight.detach().numpy().ravel()

    widths = [weights(rule=rule).std() for rule in hp.INIT_RULES]
    assert pairwise_different(widths)
    assert pairwise_different([weights(distribution=distribution) for distribution in hp.INIT_DISTRIBUTIONS])


def test_each_reconstruction_is_its_own_loss():
    pre_output = torch.linspace(-2, 2, 12).reshape(3, 4)
    x = torch.rand(3, 4, generator=torch.Generator().manual_seed(0))
    assert pairwise_different([reconstruction_loss(kind, pre_output, x).item() for kind in hp.RECONSTRUCTIONS])


def test_each_visible_unit_word_is_understood_by_the_rbm():
    x = torch.rand(8, 5, generator=torch.Generator().manual_seed(0))
    settled = [visible_units_for(x, requested) for requested in hp.VISIBLE_UNITS]
    assert set(settled) <= set(hp.VISIBLE_UNITS) - {"auto"}
    means = [RBM(5, 3, visible=units, cd_steps=1).visible_mean(torch.ones(2, 3)) for units in ("bernoulli", "gaussian")]
    assert pairwise_different([mean.detach().numpy() for mean in means])


@pytest.mark.parametrize("name", hp.TRANSFORMS)
def test_each_transform_word_builds_a_transform(name):
    assert build_step({"transform": name}, n_train=10) is not None


def test_each_impute_strategy_is_scikit_learn_s():
    x = np.array([[1.0], [np.nan], [1.0], [2.0], [3.0], [9.0]])  # median 2, mean 3.2, most frequent 1
    imputers = [build_step({"transform": "impute", "strategy": s}, len(x)) for s in hp.IMPUTE_STRATEGIES]
    assert pairwise_different([imputer.fit_transform(x)[1, 0] for imputer in imputers])
