"""Successive halving and Hyperband as rounds of a fine-tuning stage: the schedule, the cuts decided
from records alone, trials that go on from their saved state as one trial, and the same numbers on
any shard count."""

from dataclasses import replace

import numpy as np
import pytest
from tests.support.records import trial_record

from layerwise.config.specs import stage_rounds
from layerwise.data.sets import Split, save_split
from layerwise.files import write_json
from layerwise.records import read_shards
from layerwise.search.halving import Halving, settle
from layerwise.search.strategies import RandomSearch
from layerwise.search.trials import plan_round
from layerwise.stages.kinds import stage_space
from layerwise.stagespec import StageSpec
from layerwise.steps.shard import run_shard


def test_a_bracket_keeps_one_in_eta_at_each_rung_and_trains_it_eta_times_longer():
    halving = Halving(rungs=3, eta=3, hyperband=False)
    rungs = halving.schedule(2)
    assert [(r.round, r.bracket, r.rung, r.last) for r in rungs] == [
        (0, 0, 0, False), (1, 0, 1, False), (2, 0, 2, True), (3, 1, 0, False), (4, 1, 1, False), (5, 1, 2, True),
    ]  # fmt: skip
    assert [halving.budget(150, rung) for rung in rungs[:3]] == [17, 50, 150]
    assert [halving.survivors(9, rung) for rung in range(3)] == [9, 3, 1]
    assert halving.survivors(4, 2) == 1  # never none
    plain = Halving(rungs=1, eta=3, hyperband=False)
    assert plain.rounds(4) == 4 and not plain.on  # one rung: every round is a plain round


def test_hyperband_brackets_trade_configurations_for_budget_as_li_et_al_define_them():
    halving = Halving(rungs=3, eta=3, hyperband=True)
    rungs = halving.schedule(4)
    assert [r.above for r in rungs if r.rung == 0] == [2, 1, 0, 2]  # cycled from the most aggressive
    assert [halving.proposals(9, bracket) for bracket in range(3)] == [9, 5, 3]  # Li et al. (2018), R = 9
    first_budgets = [halving.budget(81, r) for r in rungs if r.rung == 0]
    assert first_budgets == [9, 27, 81, 9]
    assert halving.rounds(4) == 3 + 2 + 1 + 3 == len(rungs)


def test_the_dag_has_one_round_per_rung_of_every_bracket():
    config = {
        "seed": 0,
        "preprocess": {"strategy": {"rounds": 1}, "trials": 1, "shards": 1, "space": {}},
        "pretrain": {"layers": 1, "strategy": {"rounds": 1}, "top_k": 1, "trials_per_parent": 1, "shards": 1,
                     "pack_size": 1, "space": {}, "readout": "ridge", "readout_ridge": 1.0, "tie_hidden_units": True,
                     "distinct_parents": True},
        "finetune": {"strategy": {"rounds": 2}, "no_pretraining_arm": True, "allocation": "race",
                     "trials_per_parent": 9, "shards": 1, "pack_size": 1, "space": {}, "patience": 5,
                     "checkpoint_after_s": None,
                     "halving": {"rungs": 3, "eta": 3, "hyperband": False}},
    }  # fmt: skip
    assert stage_rounds(config) == {"preprocess": 1, "layer1": 1, "finetune": 6}


def record(index, objective, rung=0, round_=0, arm=0, status="FINISHED"):
    return trial_record(trial_id=f"finetune-r{round_ - rung}-t{index:04d}", round=round_, rung=rung, index=index,
                        arm=arm, status=status, objective=objective)  # fmt: skip


def test_a_trial_the_next_rung_ran_without_is_pruned_at_the_rung_it_reached():
    records = [record(0, 0.3), record(1, 0.1), record(2, 0.2), record(1, 0.05, rung=1, round_=1)]
    settled = {r.index: r for r in settle(records)}
    assert {i: (r.status, r.rung) for i, r in settled.items()} == {
        0: ("PRUNED", 0), 1: ("FINISHED", 1), 2: ("PRUNED", 0),
    }  # fmt: skip
    assert settled[1].objective == 0.05  # one record per trial: its last rung's
    unfinished_bracket = [record(0, 0.3), record(1, 0.1)]  # the next rung has not run yet: nothing is cut
    assert {r.status for r in settle(unfinished_bracket)} == {"FINISHED"}


def spec(shards=1, pack_size=4, rungs=2, **space):
    return StageSpec(
        stage="finetune", kind="finetune", config_key="finetune", seed=0, parents=0,
        has_parent_stacks=True, no_pretraining_arm=True, trials_per_parent=6, shards=shards,
        pack_size=pack_size, patience=4, checkpoint_after_s=None,
        strategy={"name": "random"}, halving={"rungs": rungs, "eta": 2, "hyperband": False},
        space={"learning_rate": {"type": "float", "low": 0.003, "high": 0.3, "log": True},
               "dropout": {"type": "float", "low": 0.0, "high": 0.3}, "max_epochs": 12, "batch_size": 16,
               "hidden_layers": 1, "hidden_units": 8, "activation": "tanh", **space},
    )  # fmt: skip


@pytest.fixture()
def data_dir(tmp_path):
    rng = np.random.default_rng(0)
    for name, rows in (("train", 240), ("valid", 80)):
        y = np.arange(rows) % 3
        x = rng.normal(size=(rows, 6)) + y[:, None] * 0.7
        save_split(Split(x.astype(np.float32), y.astype(np.int64)), str(tmp_path / f"{name}.npz"))
    write_json(str(tmp_path / "tracking.json"), {"enabled": False})
    return tmp_path


def run_stage(stage_spec, data_dir, rounds, name="finetune"):
    paths, folder = [], data_dir / name
    for round_ in range(rounds):
        for shard in range(stage_spec.shards):
            path = folder / f"r{round_}-{shard}.json"
            run_shard(
                stage_spec, round_, shard, str(data_dir / "train.npz"), str(data_dir / "valid.npz"), None, list(paths),
                str(data_dir / "tracking.json"), str(path), str(folder / f"r{round_}-{shard}.weights"), 1,
            )  # fmt: skip
            paths.append(str(path))
    return read_shards(paths)


def numbers(records):
    return [(r.trial_id, r.round, r.rung, r.status, r.objective, r.metrics, r.curves) for r in records]


def test_halving_cuts_the_same_trials_to_the_same_numbers_on_one_shard_or_three(data_dir):
    one = run_stage(spec(shards=1), data_dir, 3, "one")  # brackets of 2 rungs: rounds 0-1, then bracket 2's first
    three = run_stage(spec(shards=3), data_dir, 3, "three")
    assert numbers(one) == numbers(three)  # bit for bit
    first, second = [r for r in one if r.round == 0], [r for r in one if r.round == 1]
    assert len(first) == 6 and len(second) == 3  # eta 2: the best half goes on
    assert all(r.params["max_epochs"] == 12 and r.budget == 6 for r in first)
    kept = sorted(first, key=lambda r: (r.objective, r.metrics["best_valid_loss"]))[:3]
    assert {r.trial_id for r in second} == {r.trial_id for r in kept}
    assert all(r.budget == 12 and r.state is None for r in second)  # the last rung leaves no state
    settled = settle(one)
    assert sorted(r.status for r in settled if r.round <= 1) == ["FINISHED"] * 3 + ["PRUNED"] * 3
    assert len(settled) == 12  # one record per trial: 6 begun in bracket 0, 6 in bracket 1
    assert {r.round for r in settled if r.trial_id.startswith("finetune-r2-")} == {2}


def test_a_continued_trial_has_the_curve_of_one_trained_its_full_budget_at_once(data_dir):
    """A rung goes on from the weights, momentum, schedule, generators and early stopping that the one
    below left: the trials that reach the last rung end as they end without halving."""
    halved = run_stage(spec(), data_dir, 2, "halved")
    straight = {r.trial_id: r for r in run_stage(spec(rungs=1), data_dir, 1, "straight")}
    continued = [r for r in halved if r.rung == 1]
    assert continued and all(r.status == "FINISHED" for r in continued)
    for r in continued:
        whole = straight[r.trial_id]
        assert r.curves == whole.curves and r.objective == whole.objective
        assert r.metrics == whole.metrics
    stopped = [r for r in halved if r.rung == 0 and r.metrics["early_stopped"]]
    assert all(r.state["stopped"] for r in stopped)


def test_a_continued_trial_keeps_its_record_fields_across_rungs(data_dir):
    records = run_stage(spec(pack_size=1), data_dir, 2)
    by_trial = {}
    for r in records:
        by_trial.setdefault(r.trial_id, []).append(r)
    climbed = [rungs for rungs in by_trial.values() if len(rungs) == 2]
    assert climbed
    for low, high in climbed:
        assert (low.seed, low.proposed, low.arm) == (high.seed, high.proposed, high.arm)
        assert high.duration_s > low.duration_s  # the time of both rungs
        assert len(high.curves["valid_error"]) == high.metrics["stopped_epoch"]  # one curve from epoch 1


def test_later_brackets_learn_from_each_trial_once_as_its_last_rung_left_it():
    stage = spec()
    history = [replace(r, proposed={"learning_rate": 0.01 * (r.index + 1)}) for r in
               [record(0, 0.3), record(1, 0.1), record(2, 0.2), record(1, 0.05, rung=1, round_=1)]]  # fmt: skip
    seen = []

    class Spy(RandomSearch):
        def propose(self, round_, first_index, budget, arm_history):
            seen.append((round_, budget, [(r.index, r.status, r.round) for r in arm_history]))
            return super().propose(round_, first_index, budget, arm_history)

    trials = plan_round(stage, Spy(stage_space(stage), 0, "finetune", {}), 2, history, valid_rows=100)
    assert seen == [(1, 6, [(0, "PRUNED", 0), (1, "FINISHED", 0), (2, "PRUNED", 0)])]  # bracket 1, rounds as brackets
    assert [t.trial_id for t in trials] == [f"finetune-r2-t{i:04d}" for i in range(6)]
    assert {t.budget for t in trials} == {6}
