from layerwise.search.space import SearchSpace
from layerwise.search.strategies import RandomSearch
from layerwise.search.trials import pack_of, plan_round
from layerwise.stages import pretrain
from support.specs import stage_spec

SPACE = SearchSpace({"learning_rate": {"type": "float", "low": 1e-3, "high": 1e-1, "log": True}}, pretrain.DEFAULTS)


def spec(**overrides):
    return stage_spec(**{"stage": "layer2", "parents": 3, "has_parent_stacks": True, "trials_per_parent": 4,
                         "shards": 2, **overrides})  # fmt: skip


def plan_stage(spec, space):
    return plan_round(spec, RandomSearch(space, spec.seed, spec.stage, {}), 0, [], valid_rows=100)


def test_trials_are_laid_out_arm_by_arm():
    trials = plan_stage(spec(), SPACE)
    assert [t.index for t in trials] == list(range(12))
    assert [t.parent_rank for t in trials] == [0] * 4 + [1] * 4 + [2] * 4
    assert trials[5].trial_id == "layer2-r0-t0005"


def test_first_layer_and_no_pretraining_arm_have_no_parent_stack():
    assert {t.parent_rank for t in plan_stage(spec(parents=1, has_parent_stacks=False), SPACE)} == {None}
    finetune = plan_stage(spec(stage="finetune", parents=2, no_pretraining_arm=True), SPACE)
    assert [t.parent_rank for t in finetune] == [0] * 4 + [1] * 4 + [None] * 4


def test_trials_depend_on_seed_and_stage_not_on_sharding():
    trials = plan_stage(spec(), SPACE)
    assert plan_stage(spec(shards=5), SPACE) == plan_stage(spec(), SPACE) == trials
    assert plan_stage(spec(seed=1), SPACE)[0].params != trials[0].params
    assert plan_stage(spec(stage="layer3"), SPACE)[0].seed != trials[0].seed
    assert len({t.seed for t in trials}) == len(trials)


def test_packs_are_consecutive_indices():
    trials = plan_stage(spec(), SPACE)  # 12 trials: packs of 5 are 0-4, 5-9, 10-11
    assert [pack_of(trial, 5) for trial in trials] == [0] * 5 + [1] * 5 + [2] * 2
    assert [pack_of(trial, 1) for trial in trials] == list(range(12))
