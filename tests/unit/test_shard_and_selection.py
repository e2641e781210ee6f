"""A stage run through its library entry points: shards, failures, top-K selection and lineage."""

import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
from tests.support.records import trial_record

from layerwise.data.sets import Split, save_split
from layerwise.files import write_json
from layerwise.learn import stack as stacks
from layerwise.records import read_shards
from layerwise.search.strategies import best_params
from layerwise.selections import write_selection
from layerwise.stagespec import StageSpec
from layerwise.steps.selection import StageFailed, ranked, select_pretrain, top_k
from layerwise.steps.shard import progress_line, run_shard


@pytest.fixture()
def data_dir(tmp_path):
    rng = np.random.default_rng(0)
    for name, rows in (("train", 240), ("valid", 80)):
        y = np.arange(rows) % 3
        x = rng.normal(size=(rows, 6)) + y[:, None]
        save_split(Split(x.astype(np.float32), y.astype(np.int64)), str(tmp_path / f"{name}.npz"))
    write_json(str(tmp_path / "tracking.json"), {"enabled": False})
    return tmp_path


def layer_spec(stage="layer1", parents=1, shards=2, **space):
    return StageSpec(
        stage=stage, kind="pretrain", config_key="pretrain", seed=0,
        parents=parents, has_parent_stacks=stage != "layer1", trials_per_parent=4, top_k=2,
        strategy={"name": "random"},
        shards=shards, readout="ridge", readout_ridge=1e-3, distinct_parents=True,
        space={"hidden_units": 5, "epochs": 3, "batch_size": 16, "activation": "tanh", **space},
    )  # fmt: skip


def run_round(spec, data_dir, round_=0, parents=None, history=(), unlabelled=None):
    paths = []
    for shard in range(spec.shards):
        path = data_dir / spec.stage / f"r{round_}-{shard}.json"
        run_shard(
            spec,
            round_,
            shard,
            str(data_dir / "train.npz"),
            str(data_dir / "valid.npz"),
            parents,
            list(history),
            str(data_dir / "tracking.json"),
            str(path),
            str(data_dir / spec.stage / f"r{round_}-w{shard}"),
            1,
            unlabelled=unlabelled,
        )
        paths.append(str(path))
    return paths


def run_stage(spec, data_dir, parents=None, rounds=1):
    paths = []
    for round_ in range(rounds):
        paths += run_round(spec, data_dir, round_, parents, history=paths)
    return read_shards(paths)


def test_a_diverging_trial_is_recorded_as_failed_and_the_shard_goes_on(data_dir):
    spec = layer_spec(learning_rate={"type": "categorical", "choices": [0.01, 1.0e6]})
    records = run_stage(spec, data_dir)
    failed = [r for r in records if r.status == "FAILED"]
    finished = [r for r in records if r.status == "FINISHED"]
    assert failed and finished and len(records) == 4
    assert all(r.params["learning_rate"] == 1.0e6 and r.reason.startswith("diverged") for r in failed)
    assert all(r.weights is None and r.objective is None for r in failed)
    assert [r.trial_id for r in ranked(records, "layer1")][0] in {r.trial_id for r in finished}


def test_when_every_trial_fails_selection_says_so(data_dir):
    records = run_stage(layer_spec(learning_rate=1.0e6), data_dir)
    with pytest.raises(StageFailed, match="every trial of stage layer1 failed \\(4 trials\\); reasons: diverged"):
        ranked(records, "layer1")


def test_top_k_stacks_grow_from_their_parents(data_dir):
    first = layer_spec()
    selected = select_pretrain(first, ranked(run_stage(first, data_dir), "layer1"), None, str(data_dir / "top1"))
    parents = data_dir / "top1.json"
    write_selection(str(parents), selected)
    objectives = [entry.objective for entry in selected.entries]
    assert len(objectives) == 2 and objectives == sorted(objectives)

    second = layer_spec("layer2", parents=2)
    records = run_stage(second, data_dir, str(parents))
    top = select_pretrain(second, ranked(records, "layer2"), str(parents), str(data_dir / "top2"))
    kept_parents = {entry.trial_id for entry in selected.entries}
    assert {r.parent_trial for r in records} == kept_parents
    for entry in top.entries:
        stack = stacks.load(entry.stack)
        assert [layer["trial_id"] for layer in stack["layers"]] == [step.trial_id for step in entry.lineage]
        assert entry.lineage[0].trial_id == entry.parent_trial
        parent_entry = next(e for e in selected.entries if e.trial_id == entry.parent_trial)
        assert torch.equal(stacks.load(parent_entry.stack)["layers"][0]["weight"], stack["layers"][0]["weight"])


def test_ranking_breaks_ties_by_validation_loss_then_round_then_index_and_drops_failures():
    records = [
        trial_record(round=0, index=2, objective=0.1),
        trial_record(round=0, index=0, status="FAILED", reason="x"),
        trial_record(round=1, index=0, objective=0.1),
        trial_record(round=0, index=1, objective=0.1),
        trial_record(round=0, index=3, objective=0.05),
    ]
    assert [(r.round, r.index) for r in ranked(records, "s")] == [(0, 3), (0, 1), (0, 2), (1, 0)]
    fine_tuned = [
        trial_record(round=0, index=0, objective=0.1, metrics={"best_valid_loss": 0.4}),
        trial_record(round=1, index=1, objective=0.1, metrics={"best_valid_loss": 0.3}),
        trial_record(round=0, index=2, objective=0.2, metrics={"best_valid_loss": 0.1}),
    ]
    assert [(r.round, r.index) for r in ranked(fine_tuned, "finetune")] == [(1, 1), (0, 0), (0, 2)]
    proposals = [replace(record, proposed={"lr": i}) for i, record in enumerate(fine_tuned)]
    assert best_params(proposals) == {"lr": 1}  # the adaptive strategies build on the same best


def test_same_trials_give_the_same_numbers_whatever_the_shard_count(data_dir):
    # Layer 2 too: a shard computes its parents' features before its first trial on each parent,
    # and that must not shift any trial's random numbers.
    first = layer_spec(shards=1)
    top = select_pretrain(first, ranked(run_stage(first, data_dir), "layer1"), None, str(data_dir / "t"))
    write_selection(str(data_dir / "top1.json"), top)
    by_shards = {}
    for shards in (1, 3):
        spec = replace(layer_spec("layer2", parents=2), shards=shards)
        records = run_stage(spec, data_dir, str(data_dir / "top1.json"))
        by_shards[shards] = {r.trial_id: (r.objective, r.metrics["reconstruction_valid"]) for r in records}
    assert len(by_shards[1]) == 8 and by_shards[1] == by_shards[3]


def test_cross_entropy_reconstruction_on_inputs_outside_the_unit_interval_fails_with_a_reason(data_dir):
    records = run_stage(layer_spec(reconstruction="cross_entropy"), data_dir)
    assert {r.status for r in records} == {"FAILED"}
    assert all("cross_entropy reconstruction needs inputs in [0, 1]" in r.reason for r in records)


def test_tied_sizes_give_every_layer_its_parents_width(data_dir):
    first = layer_spec(hidden_units={"type": "int", "low": 3, "high": 9})
    top = select_pretrain(first, ranked(run_stage(first, data_dir), "layer1"), None, str(data_dir / "t"))
    write_selection(str(data_dir / "top1.json"), top)
    widths = {entry.trial_id: entry.params["hidden_units"] for entry in top.entries}
    second = replace(layer_spec("layer2", parents=2, hidden_units=50), tie_hidden_units=True)
    records = run_stage(second, data_dir, str(data_dir / "top1.json"))
    assert all(r.status == "FINISHED" for r in records)
    assert all(r.params["hidden_units"] == widths[r.parent_trial] for r in records)
    stacks_of_layer2 = select_pretrain(
        second, ranked(records, "layer2"), str(data_dir / "top1.json"), str(data_dir / "t2")
    ).entries
    for entry in stacks_of_layer2:
        layers = stacks.load(entry.stack)["layers"]
        assert layers[0]["n_hidden"] == layers[1]["n_hidden"]


def test_each_finished_trial_prints_its_progress_and_the_time_left_in_the_round(data_dir, capsys):
    run_stage(layer_spec(shards=1), data_dir)
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("[")]
    assert [line.split("]")[0] for line in lines] == ["[1", "[2", "[3", "[4"]
    assert lines[0].startswith("[1] layer1 layer1-r0-t0000: FINISHED objective 0.")
    assert [line.split("; ")[1].split(" trials")[0] for line in lines] == ["3", "2", "1", "0"]  # taken one by one
    assert lines[-1].endswith("about 0s left")
    record = trial_record(stage="s", trial_id="t", objective=0.5, duration_s=2.0)
    assert progress_line(record, 2, 6, 2, 10.0).endswith("6 trials of the round not taken yet, about 15s left")


def test_packed_trials_give_the_same_numbers_whatever_the_shard_count(data_dir):
    varied = {
        "learning_rate": {"type": "float", "low": 0.01, "high": 0.1},
        "corruption": {"type": "float", "low": 0.0, "high": 0.4},
    }
    numbers = {}
    for pack_size, shards in ((1, 1), (3, 1), (3, 2), (3, 3)):
        spec = replace(layer_spec(shards=shards, **varied), trials_per_parent=8, pack_size=pack_size)
        records = sorted(run_stage(spec, data_dir), key=lambda r: r.index)
        assert [r.status for r in records] == ["FINISHED"] * 8
        numbers[pack_size, shards] = [(r.objective, r.metrics, r.curves) for r in records]
        if pack_size == 3:  # packs 0-2, 3-5, 6-7 trained together: each trial has its pack's share of the time
            assert [r.pack for r in records] == [f"layer1-r0-p{index // 3:04d}" for index in range(8)]
            durations = [r.duration_s for r in records]
            assert durations[0] == durations[1] == durations[2] and durations[3] == durations[4] == durations[5]
        else:
            assert {r.pack for r in records} == {None}
    assert numbers[3, 1] == numbers[3, 2] == numbers[3, 3]  # bit for bit
    for (_, metrics, curves), (_, alone_metrics, alone_curves) in zip(numbers[3, 1], numbers[1, 1], strict=True):
        assert metrics == pytest.approx(alone_metrics, rel=1e-4)
        assert all(curves[name] == pytest.approx(values, rel=1e-4) for name, values in alone_curves.items())


def test_a_shard_run_again_runs_the_packs_it_took_before_to_the_same_numbers(data_dir):
    spec = replace(layer_spec(shards=2), pack_size=2)
    first, second = (read_shards([path]) for path in run_round(spec, data_dir))
    assert [r.index for r in first] == [0, 1, 2, 3] and second == []  # run one after the other: shard 0 takes all
    Path(data_dir / "layer1" / "r0-0.json").unlink()  # a lost record: Snakemake runs the shard again
    again, second_again = (read_shards([path]) for path in run_round(spec, data_dir))
    assert second_again == [] and [r.objective for r in again] == [r.objective for r in first]
    assert [r.curves for r in again] == [r.curves for r in first]


def test_the_top_k_takes_the_best_of_each_parent_stack_first():
    def record(index, parent, objective):
        return trial_record(index=index, parent_rank=parent, objective=objective)

    order = [record(0, 0, 0.1), record(1, 0, 0.2), record(2, 1, 0.3), record(3, 0, 0.4), record(4, 2, 0.5)]
    assert [r.index for r in top_k(order, 2, distinct_parents=False)] == [0, 1]  # both on parent 0
    assert [r.index for r in top_k(order, 2, distinct_parents=True)] == [0, 2]
    assert [r.index for r in top_k(order, 4, distinct_parents=True)] == [0, 1, 2, 4]  # filled by rank
    first_layer = [record(index, None, 0.1 * index) for index in range(4)]
    assert top_k(first_layer, 3, distinct_parents=True) == first_layer[:3]  # one parent: the plain top K


@pytest.mark.parametrize("pack_size", [1, 4])
def test_a_layer_learns_from_the_unlabelled_rows_too_and_is_judged_on_labelled_ones(data_dir, pack_size):
    spec = replace(layer_spec(shards=1), pack_size=pack_size)
    features = np.random.default_rng(1).normal(size=(200, 6)).astype(np.float32)
    save_split(Split(features, np.full(200, -1)), str(data_dir / "unlabelled.npz"))
    save_split(Split(features[:0], np.full(0, -1)), str(data_dir / "none.npz"))

    def numbers(unlabelled):
        shutil.rmtree(data_dir / spec.stage, ignore_errors=True)  # the same trials, run anew
        records = sorted(read_shards(run_round(spec, data_dir, unlabelled=unlabelled)), key=lambda r: r.index)
        assert [r.status for r in records] == ["FINISHED"] * 4
        return [(r.objective, r.metrics) for r in records]

    alone = numbers(None)
    assert numbers(str(data_dir / "none.npz")) == alone  # no unlabelled row: the same numbers
    more = numbers(str(data_dir / "unlabelled.npz"))
    learned = zip(more, alone, strict=True)
    assert all(more["reconstruction_train"] != alone["reconstruction_train"] for (_, more), (_, alone) in learned)
