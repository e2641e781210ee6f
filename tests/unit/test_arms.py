from dataclasses import replace

import pytest
from tests.support.records import trial_record

from layerwise.search import arms
from layerwise.search.space import SearchSpace
from layerwise.search.strategies import RandomSearch
from layerwise.search.trials import plan_round
from layerwise.stages import finetune
from support.specs import stage_spec

SPACE = SearchSpace({"learning_rate": {"type": "float", "low": 1e-3, "high": 1e-1, "log": True}}, finetune.DEFAULTS)


def test_an_arm_within_one_standard_error_of_the_leader_stays_in_the_race():
    # 800 rows: sqrt(0.25 * 0.75 / 800) = 0.0153
    assert arms.in_race({0: 0.265, 1: 0.30, 2: 0.25}, rows=800) == [0, 2]
    assert arms.in_race({0: 0.266, 1: 0.30, 2: 0.25}, rows=800) == [2]
    assert arms.in_race({0: 0.29, 2: 0.25}, rows=80) == [0, 2]  # 80 rows cannot tell them apart (0.048)


def test_a_perfect_score_still_has_a_margin_of_one_row():
    assert arms.standard_error(0.0, 29) == pytest.approx(1 / 29)
    assert arms.in_race({0: 0.0, 1: 1 / 29, 2: 2 / 29}, rows=29) == [0, 1]


def test_an_arm_without_a_finished_trial_is_out_unless_none_has_one():
    assert arms.in_race({1: 0.3}, rows=100) == [1]
    assert arms.shares(arms.RACE, 3, 4, {}, rows=100, pack_size=4) == [4, 4, 4]


@pytest.mark.parametrize(
    "best, pack_size, counts",
    [
        ({0: 0.29, 1: 0.30, 2: 0.25}, 4, [0, 0, 12]),  # the leader alone takes the round
        ({0: 0.26, 1: 0.30, 2: 0.25}, 4, [4, 0, 8]),  # two in the race, in whole packs: the leader the rest
        ({0: 0.26, 1: 0.30, 2: 0.25}, 1, [6, 0, 6]),
        ({0: 0.26, 1: 0.30, 2: 0.25}, 8, [6, 0, 6]),  # a share smaller than a pack is not cut to nothing
        ({0: 0.25, 1: 0.26, 2: 0.255}, 4, [4, 4, 4]),  # all in the race: the even round
    ],
)
def test_the_round_keeps_its_size_and_goes_to_the_arms_in_the_race(best, pack_size, counts):
    assert arms.shares(arms.RACE, 3, 4, best, rows=800, pack_size=pack_size) == counts
    assert arms.shares(arms.EVEN, 3, 4, best, rows=800, pack_size=pack_size) == [4, 4, 4]


def records(round_, objectives_by_arm):
    return [
        trial_record(round=round_, index=index, arm=arm, objective=objective)
        for index, (arm, objective) in enumerate(
            (arm, objective) for arm, objectives in enumerate(objectives_by_arm) for objective in objectives
        )
    ]


def test_fine_tuning_rounds_after_the_first_race_the_arms_from_the_records():
    spec = stage_spec(
        stage="finetune", kind="finetune", parents=2, has_parent_stacks=True, no_pretraining_arm=True,
        trials_per_parent=4, shards=2, pack_size=4, allocation=arms.RACE,
    )  # fmt: skip
    strategy = RandomSearch(SPACE, 0, "finetune", {})
    first = plan_round(spec, strategy, 0, [], valid_rows=800)
    assert [t.arm for t in first] == [0] * 4 + [1] * 4 + [2] * 4  # round 0: even

    history = records(0, [[0.30, 0.31, 0.33, 0.35], [0.29, 0.30, 0.31, 0.32], [0.26, 0.40, 0.38, 0.27]])
    second = plan_round(spec, strategy, 1, history, valid_rows=800)
    assert [t.arm for t in second] == [2] * 12
    assert [t.parent_rank for t in second] == [None] * 12
    assert [t.index for t in second] == list(range(12))
    assert len({t.params["learning_rate"] for t in second}) == 12  # twelve distinct proposals

    # Few validation rows cannot tell the arms apart: the round is the even one, trial for trial.
    even = plan_round(spec, strategy, 1, history, valid_rows=80)
    assert even == plan_round(stage_spec(**{**spec.__dict__, "allocation": arms.EVEN}), strategy, 1, history, 800)
    assert [t.arm for t in even] == [0] * 4 + [1] * 4 + [2] * 4


def test_with_halving_a_bracket_races_at_its_first_rung_and_each_arm_keeps_its_own_best():
    spec = stage_spec(
        stage="finetune", kind="finetune", parents=1, has_parent_stacks=True, no_pretraining_arm=True,
        trials_per_parent=4, shards=1, pack_size=1, allocation=arms.RACE,
        halving={"rungs": 2, "eta": 2, "hyperband": False},
    )  # fmt: skip
    strategy = RandomSearch(SPACE, 0, "finetune", {})
    bracket_0 = [  # rounds 0 and 1: bracket 0's two rungs; arm 1 far ahead
        replace(record, proposed={"max_epochs": 100}, duration_s=1.0, state={"path": "s", "epoch": 4, "stopped": False})
        for record in records(0, [[0.40, 0.41, 0.42, 0.43], [0.20, 0.30, 0.31, 0.32]])
    ]  # fmt: skip
    bracket_0 += [replace(r, round=1) for r in bracket_0 if r.index in (0, 1, 4, 5)]
    first_rung = plan_round(spec, strategy, 2, bracket_0, valid_rows=800)
    assert [t.arm for t in first_rung] == [1] * 8 and {t.budget for t in first_rung} == {50}  # of max_epochs 100
    ended = [
        replace(r, round=2, index=t.index, arm=t.arm, objective=0.1 + t.index / 100, proposed=t.params)
        for r, t in zip(bracket_0, first_rung, strict=False)
    ]
    second_rung = plan_round(spec, strategy, 3, bracket_0 + ended, valid_rows=800)
    assert [(t.arm, t.index, t.budget) for t in second_rung] == [(1, i, 100) for i in range(4)]  # 8 proposals: 4 go on
