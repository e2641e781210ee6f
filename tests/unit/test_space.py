import math

import numpy as np
import pytest
from scipy import stats

from layerwise.search.space import Categorical, Interval, SearchSpace, SpaceError, parse_distribution
from layerwise.stages import pretrain

DEFAULTS = {"learning_rate": 0.01, "hidden_units": 100, "activation": "tanh", "corruption": 0.1}


def draws(spec, n=4000, seed=0):
    rng = np.random.default_rng(seed)
    distribution = parse_distribution("x", spec)
    return [distribution.sample(rng) for _ in range(n)]


def test_float_samples_stay_in_bounds_and_are_floats():
    values = draws({"type": "float", "low": 0.2, "high": 0.7})
    assert all(isinstance(v, float) and 0.2 <= v <= 0.7 for v in values)


def test_log_uniform_is_uniform_in_the_log_domain():
    values = np.array(draws({"type": "float", "low": 1e-4, "high": 1.0, "log": True}))
    logs = np.log(values)
    # Kolmogorov-Smirnov against uniform on [log low, log high]; a plain uniform draw would fail badly.
    assert stats.kstest(logs, "uniform", args=(math.log(1e-4), math.log(1.0) - math.log(1e-4))).pvalue > 0.01
    assert 0.45 < np.mean(values < 1e-2) < 0.55  # 2 of the 4 decades lie below 1e-2


def test_complement_range_is_log_uniform_in_one_minus_x():
    values = np.array(draws({"type": "float", "low": 0.9, "high": 0.9999, "complement": True}))
    assert values.min() >= 0.9 and values.max() <= 0.9999
    gaps = np.log10(1 - values)  # uniform on [-4, -1]
    assert stats.kstest(gaps, "uniform", args=(-4, 3)).pvalue > 0.01


def test_integer_log_range_covers_both_ends_and_returns_ints():
    values = draws({"type": "int", "low": 8, "high": 64, "log": True})
    assert all(isinstance(v, int) and 8 <= v <= 64 for v in values)
    assert min(values) == 8 and max(values) == 64


def test_categorical_draws_every_choice():
    values = draws({"type": "categorical", "choices": ["a", "b", "c"]}, n=300)
    assert set(values) == {"a", "b", "c"}


def test_same_seed_same_configurations_and_fixed_values_pass_through():
    space = SearchSpace({"learning_rate": {"type": "float", "low": 1e-3, "high": 1, "log": True}}, DEFAULTS)
    first = [space.sample(np.random.default_rng(7)) for _ in range(3)]
    again = [space.sample(np.random.default_rng(7)) for _ in range(3)]
    assert first == again
    assert first[0]["hidden_units"] == 100 and first[0]["activation"] == "tanh"


@pytest.mark.parametrize(
    "spec, message",
    [
        ({"type": "float", "low": 1.0, "high": 0.1}, "must not exceed high"),
        ({"type": "float", "low": 0.0, "high": 1.0, "log": True}, "needs low > 0"),
        ({"type": "categorical", "choices": []}, "non-empty list"),
        ({"type": "normalish", "low": 0, "high": 1}, "allowed values: float, int, categorical"),
        ({"type": "int", "low": 1.5, "high": 4}, "integer bounds"),
        ({"type": "float", "low": 0.5, "high": 1.0, "complement": True}, "needs a float range below 1"),
    ],
)
def test_bad_distributions_name_the_key(spec, message):
    with pytest.raises(SpaceError, match=message) as error:
        parse_distribution("pretrain.space.x", spec)
    assert "pretrain.space.x" in str(error.value)


def test_unknown_hyper_parameter_lists_the_allowed_ones():
    with pytest.raises(SpaceError, match="unknown hyper-parameter 'learning_rat'.*allowed: activation, corruption"):
        SearchSpace({"learning_rat": 0.1}, DEFAULTS)


def test_parsed_types():
    assert isinstance(parse_distribution("x", {"type": "categorical", "choices": [1]}), Categorical)
    assert parse_distribution("x", {"type": "int", "low": 1, "high": 3}) == Interval(1.0, 3.0, integer=True)


def test_categorical_prior_weights_set_the_frequencies():
    space = SearchSpace(
        {"activation": {"type": "categorical", "choices": ["tanh", "relu", "sigmoid"], "weights": [6, 3, 1]}},
        pretrain.DEFAULTS,
    )
    rng = np.random.default_rng(0)
    draws = [space.sample(rng)["activation"] for _ in range(3000)]
    counts = [draws.count(choice) for choice in ("tanh", "relu", "sigmoid")]
    assert stats.chisquare(counts, [1800, 900, 300]).pvalue > 0.01
    assert stats.chisquare(counts, [1000, 1000, 1000]).pvalue < 1e-6


def test_a_normal_prior_in_the_log_domain_is_centred_on_its_mean_and_stays_in_range():
    space = SearchSpace(
        {
            "learning_rate": {
                "type": "float",
                "low": 1e-4,
                "high": 1.0,
                "log": True,
                "prior": {"mean": 1e-2, "std": 0.1},
            }
        },
        pretrain.DEFAULTS,
    )
    rng = np.random.default_rng(0)
    exponents = np.log10([space.sample(rng)["learning_rate"] for _ in range(3000)])
    assert exponents.min() >= -4 and exponents.max() <= 0
    assert np.median(exponents) == pytest.approx(-2, abs=0.05)
    assert np.std(exponents) == pytest.approx(0.1 * 4, rel=0.1)  # std: a tenth of 4 decades


@pytest.mark.parametrize(
    "spec, message",
    [
        ({"type": "categorical", "choices": ["a", "b"], "weights": [1]}, "weights: one weight >= 0 per choice"),
        ({"type": "categorical", "choices": ["a", "b"], "weights": [0, 0]}, "weights: at least one weight must be > 0"),
        ({"type": "float", "low": 0.1, "high": 0.5, "prior": {"mean": 0.9}}, "prior.mean must be a number in"),
        (
            {"type": "float", "low": 0.1, "high": 0.5, "prior": {"mean": 0.2, "std": 0}},
            "prior.std must be a number > 0",
        ),
    ],
)
def test_bad_priors_are_named(spec, message):
    with pytest.raises(SpaceError, match=f"space.corruption.{message}"):
        SearchSpace({"corruption": spec}, pretrain.DEFAULTS)
