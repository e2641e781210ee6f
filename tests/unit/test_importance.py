"""A hyper-parameter's importance is the share of the objective's variance it explains alone."""

import numpy as np
import pytest
from tests.support.records import trial_record

from layerwise.search.importance import adjusted_eta_squared, main_effects
from layerwise.search.space import SearchSpace
from layerwise.stages import finetune

SPACE = SearchSpace(
    {
        "learning_rate": {"type": "float", "low": 1e-3, "high": 0.1, "log": True},
        "dropout": {"type": "float", "low": 0.0, "high": 0.5},
        "lr_schedule": {"type": "categorical", "choices": ["constant", "inverse_time"]},
    },
    finetune.DEFAULTS,
)


def trials(objective, count: int = 60, seed: int = 0) -> list:
    rng = np.random.default_rng(seed)
    samples = [SPACE.sample(rng) for _ in range(count)]
    return [trial_record(params=params, objective=objective(params, rng)) for params in samples]


def test_the_hyper_parameter_the_objective_follows_ranks_first_and_noise_scores_near_zero():
    effects = main_effects(trials(lambda p, rng: np.log(p["learning_rate"]) ** 2 + 0.1 * rng.normal()), SPACE)
    assert list(effects)[0] == "learning_rate" and effects["learning_rate"] > 0.7
    assert effects["dropout"] < 0.15 and effects["lr_schedule"] < 0.15


def test_a_choice_that_sets_the_objective_explains_all_of_its_variance():
    effects = main_effects(trials(lambda p, rng: float(p["lr_schedule"] == "constant")), SPACE)
    assert effects["lr_schedule"] == pytest.approx(1.0) and list(effects)[0] == "lr_schedule"


def test_failed_trials_and_trials_without_the_hyper_parameter_are_left_out():
    records = trials(lambda p, rng: p["dropout"])
    records += [trial_record(status="FAILED", params={"dropout": 0.0})]
    records += [trial_record(params={}, objective=9.0)]
    assert list(main_effects(records, SPACE))[0] == "dropout"


def test_too_few_trials_or_a_constant_objective_give_no_importance():
    assert adjusted_eta_squared(np.array([0.1, 0.2]), np.array([0, 1])) == 0.0
    assert adjusted_eta_squared(np.array([0.3] * 6), np.array([0, 0, 1, 1, 2, 2])) == 0.0
