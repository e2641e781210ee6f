"""Best values on the border of their interval: detected in the search domain, counted in the top K."""

from tests.support.records import trial_record

from layerwise.search.border import border_warnings, describe, on_border, side_of
from layerwise.search.space import Interval, SearchSpace
from layerwise.stages import pretrain

SPACE = SearchSpace(
    {
        "learning_rate": {"type": "float", "low": 1e-4, "high": 1.0, "log": True},
        "corruption": {"type": "float", "low": 0.0, "high": 0.5},
        "hidden_units": {"type": "int", "low": 10, "high": 20},
        "activation": {"type": "categorical", "choices": ["tanh", "relu"]},
    },
    pretrain.DEFAULTS,
)


def record(**params):
    return trial_record(params=params)


def test_the_outer_tenth_is_measured_in_the_log_domain_for_log_scaled_ranges():
    rate = SPACE.distributions["learning_rate"]
    assert side_of(rate, 1.5e-4) == "low" and side_of(rate, 0.5) == "high"
    assert side_of(rate, 0.05) is None  # 0.05 is 5% of the interval in x, but 67% of it in log x
    corruption = SPACE.distributions["corruption"]
    assert side_of(corruption, 0.04) == "low" and side_of(corruption, 0.06) is None
    assert side_of(Interval(0.3, 0.3), 0.3) is None


def test_warnings_name_the_hyper_parameter_its_side_and_how_many_of_the_top_k_agree():
    ranked = [
        record(learning_rate=1.2e-4, corruption=0.25, hidden_units=20, activation="relu"),
        record(learning_rate=1.1e-4, corruption=0.49, hidden_units=15, activation="tanh"),
        record(learning_rate=0.01, corruption=0.25, hidden_units=20, activation="tanh"),
        record(learning_rate=1e-4, corruption=0.25, hidden_units=20, activation="tanh"),  # not in the top 3
    ]
    warnings = border_warnings(SPACE, ranked, top_k=3)
    assert [(w["hyper_parameter"], w["side"], w["top_k_on_border"]) for w in warnings] == [
        ("hidden_units", "high", 2),
        ("learning_rate", "low", 2),
    ]
    assert warnings[1]["bound"] == 1e-4 and warnings[1]["top_k"] == 3
    assert describe(warnings).startswith("hidden_units at its high bound 20 (2 of top 3)")
    assert describe([]) == "none"


def test_a_hyper_parameter_the_best_trial_does_not_use_is_not_reported():
    ranked = [record(learning_rate=0.01, hidden_units=15), record(learning_rate=0.01, corruption=0.0, hidden_units=15)]
    assert border_warnings(SPACE, ranked, top_k=2) == []
    assert on_border(SPACE, ranked[1].params) == "corruption:low"
