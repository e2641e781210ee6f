"""The search strategies: one contract every strategy keeps, then what each one does."""

import dataclasses
import math
from dataclasses import replace

import numpy as np
import pytest
import yaml
from scipy import stats
from tests.support.records import trial_record

from layerwise.hyperparameters import TABLE
from layerwise.search.space import SearchSpace, to_unit
from layerwise.search.strategies import STRATEGY_CLASSES, Settings, make_strategy
from layerwise.search.trials import plan_round
from layerwise.stages import pretrain
from support.repo import REPO
from support.specs import stage_spec

SPACE = SearchSpace(
    {
        "learning_rate": {"type": "float", "low": 1e-4, "high": 1.0, "log": True},
        "hidden_units": {"type": "int", "low": 16, "high": 512, "log": True},
        "momentum": {"type": "float", "low": 0.5, "high": 0.999, "complement": True},
        "corruption": {"type": "float", "low": 0.0, "high": 0.5},
        "activation": {"type": "categorical", "choices": ["tanh", "relu"]},
        "epochs": 3,
    },
    pretrain.DEFAULTS,
)
SETTINGS = {name: {"name": name, "grid": {"learning_rate": 4, "hidden_units": 3}} for name in STRATEGY_CLASSES}
ROUNDS = 3


def objective(params):
    """A smooth made-up objective, best at learning_rate 1e-2, 100 units, tanh."""
    return (
        (math.log10(params["learning_rate"]) + 2) ** 2
        + math.log(params["hidden_units"] / 100) ** 2
        + (params["activation"] != "tanh")
    )


def spec(stage="layer2", parents=2, seed=0):
    return stage_spec(stage=stage, seed=seed, parents=parents, has_parent_stacks=True, trials_per_parent=6, shards=2)


def search(name, seed=0, fail=lambda trial: False, rounds=ROUNDS, stage_spec=None):
    """Rounds of a strategy against `objective`; failed trials are those `fail` picks."""
    stage_spec = stage_spec or spec(seed=seed)
    strategy = make_strategy(SPACE, seed, stage_spec.stage, SETTINGS[name])
    history, per_round = [], []
    for round_ in range(rounds):
        trials = plan_round(stage_spec, strategy, round_, history, valid_rows=100)
        per_round.append(trials)
        for trial in trials:
            score = None if fail(trial) else objective(trial.params)
            history.append(
                trial_record(
                    round=trial.round, index=trial.index, arm=trial.arm, params=trial.params,
                    status="FAILED" if score is None else "FINISHED", objective=score,
                )
            )  # fmt: skip
    return per_round


@pytest.mark.parametrize("name", STRATEGY_CLASSES)
def test_every_value_is_within_its_interval_and_of_its_type(name):
    for trials in search(name):
        assert trials
        for trial in trials:
            params = trial.params
            assert set(params) == set(SPACE.distributions)
            assert isinstance(params["hidden_units"], int) and 16 <= params["hidden_units"] <= 512
            assert isinstance(params["learning_rate"], float) and 1e-4 <= params["learning_rate"] <= 1.0
            assert 0.5 <= params["momentum"] <= 0.999 and 0.0 <= params["corruption"] <= 0.5
            assert params["activation"] in ("tanh", "relu") and params["epochs"] == 3


@pytest.mark.parametrize("name", STRATEGY_CLASSES)
def test_the_same_seed_gives_the_same_trials(name):
    first, again = search(name), search(name)
    assert first == again
    for trials in first:
        assert [t.index for t in trials] == list(range(len(trials)))


@pytest.mark.parametrize("name", ["random", "coordinate", "tpe"])
def test_another_seed_gives_other_trials(name):
    assert search(name)[0][0].params != search(name, seed=1)[0][0].params


@pytest.mark.parametrize("name", STRATEGY_CLASSES)
def test_failed_trials_are_tolerated(name):
    for fail in (lambda trial: trial.index % 2 == 0, lambda trial: True):
        assert all(len(trials) > 0 for trials in search(name, fail=fail))


def test_an_arm_whose_trials_all_failed_starts_over():
    grid = search("multires", fail=lambda trial: True)
    assert [t.params for t in grid[1]] == [t.params for t in grid[0]]  # the whole grid again
    coordinate = search("coordinate", fail=lambda trial: True)[1]  # random draws again, not one axis
    assert all(len({str(t.params[name]) for t in coordinate}) > 1 for name in ("learning_rate", "hidden_units"))


@pytest.mark.parametrize("name", ["random", "tpe"])
def test_log_scaled_draws_are_log_uniform(name):
    stage_spec = replace(spec(parents=1), trials_per_parent=400)
    draws = [t.params["learning_rate"] for t in search(name, rounds=1, stage_spec=stage_spec)[0]]
    exponents = np.log10(draws)
    assert stats.kstest(exponents, stats.uniform(loc=-4, scale=4).cdf).pvalue > 0.01
    assert stats.kstest(draws, stats.uniform(loc=1e-4, scale=1.0).cdf).pvalue < 1e-6  # not uniform in x


def test_a_grid_takes_every_combination_evenly_spaced_in_the_log_domain():
    (trials,) = search("grid", rounds=1, stage_spec=spec(parents=1))
    # learning_rate 4 points, hidden_units 3, momentum and corruption 3 each, activation 2 choices
    assert len(trials) == 4 * 3 * 3 * 3 * 2
    rates = sorted({t.params["learning_rate"] for t in trials})
    assert rates == pytest.approx([1e-4, 1e-4 * 10 ** (4 / 3), 1e-4 * 10 ** (8 / 3), 1.0])
    assert sorted({t.params["hidden_units"] for t in trials}) == [16, 91, 512]  # sqrt(16 * 512) = 90.5
    assert sorted({t.params["momentum"] for t in trials}) == pytest.approx([0.5, 1 - math.sqrt(0.5 * 0.001), 0.999])
    explicit = make_strategy(SPACE, 0, "layer1", {"name": "grid", "grid": {"learning_rate": [0.01, 0.1]}})
    assert {p["learning_rate"] for p in explicit.propose(0, 0, 6, [])} == {0.01, 0.1}


def test_multiresolution_rounds_narrow_around_the_best_configuration():
    rounds = search("multires", stage_spec=spec(parents=1))
    best = min(rounds[0], key=lambda t: objective(t.params)).params
    distribution = SPACE.distributions["learning_rate"]
    for round_, trials in enumerate(rounds[1:], start=1):
        positions = [to_unit(distribution, t.params["learning_rate"]) for t in trials]
        assert max(positions) - min(positions) == pytest.approx(0.5**round_)
    centre = to_unit(distribution, best["learning_rate"])
    positions = {to_unit(distribution, t.params["learning_rate"]) for t in rounds[1]}
    assert min(positions) <= centre <= max(positions)
    assert {t.params["activation"] for t in rounds[1]} == {"tanh", "relu"}  # categoricals are searched again
    restricted = make_strategy(SPACE, 0, "layer1", {"name": "multires", "coordinates": [["hidden_units"]]})
    history = [trial_record(objective=1.0, params=best)]
    proposals = restricted.propose(1, 0, 6, history)
    assert {p["learning_rate"] for p in proposals} == {best["learning_rate"]} and len(proposals) == 3


def test_coordinate_descent_varies_one_hyper_parameter_from_the_best_revisiting_the_learning_rate():
    rounds = search("coordinate", rounds=5, stage_spec=spec(parents=1))
    varied = []
    for round_, trials in enumerate(rounds[1:], start=1):
        changing = [name for name in SPACE.distributions if len({str(t.params[name]) for t in trials}) > 1]
        assert len(changing) == 1, (round_, changing)
        varied.append(changing[0])
    assert varied[0] == varied[2] == "learning_rate" and "learning_rate" not in (varied[1], varied[3])
    assert varied[1] != varied[3]


def test_tpe_concentrates_on_the_good_region_more_than_random_search():
    def distance(name):
        last = search(name, rounds=4, stage_spec=replace(spec(parents=1), trials_per_parent=10))[-1]
        return np.median([abs(math.log10(t.params["learning_rate"]) + 2) for t in last])

    assert distance("tpe") < 0.6 * distance("random")


NARROW = SearchSpace(
    {
        "learning_rate": {"type": "float", "low": 1e-3, "high": 1e-1, "log": True},
        "corruption": {"type": "float", "low": 0.0, "high": 0.5},
    },
    pretrain.DEFAULTS,
)


def run_rounds(strategy, rounds=3):
    """The lower the learning rate and the corruption, the better: both optima lie past the low border."""
    history, per_round = [], []
    for round_ in range(rounds):
        trials = plan_round(spec(parents=1), strategy, round_, history, valid_rows=100)
        per_round.append(trials)
        history += [
            trial_record(round=t.round, index=t.index, arm=t.arm, params=t.params,
                         objective=math.log10(t.params["learning_rate"]) + t.params["corruption"])
            for t in trials
        ]  # fmt: skip
    return per_round


@pytest.mark.parametrize("name", ["multires", "coordinate", "tpe"])
def test_extend_on_border_widens_past_the_best_border_within_hard_limits_and_says_so(name):
    settings = {"name": name, "extend_on_border": True, "extend_factor": 2.0}
    rounds = run_rounds(make_strategy(NARROW, 0, "layer1", settings))
    later = [t for trials in rounds[1:] for t in trials]
    assert min(t.params["learning_rate"] for t in later) < 1e-3  # past the configured low end
    assert min(t.params["learning_rate"] for t in later) >= TABLE["learning_rate"].widest[0]
    assert all(t.params["corruption"] >= 0.0 for t in later)  # a hard limit: never below 0
    steps = [step for trials in rounds for step in trials[0].extended]
    assert rounds[0][0].extended == () and any(step.startswith("round ") and "learning_rate" in step for step in steps)
    assert not any("corruption" in step for step in steps)  # already at its hard limit
    plain = run_rounds(make_strategy(NARROW, 0, "layer1", {"name": name}))
    assert min(t.params["learning_rate"] for trials in plain for t in trials) >= 1e-3
    assert all(t.extended == () for trials in plain for t in trials)


def test_a_strategy_s_settings_default_to_what_the_schema_documents():
    schema = yaml.safe_load((REPO / "workflow" / "schemas" / "config.schema.yaml").read_text())
    documented = {name: entry["default"] for name, entry in schema["definitions"]["strategy"]["properties"].items()}
    assert dataclasses.asdict(Settings()) == documented
