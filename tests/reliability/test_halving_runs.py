"""Successive halving through `snakemake`: the cuts of each bracket, a run on one shard killed mid-rung
that a rerun brings to the cuts and numbers of an uninterrupted run on three, and MLflow showing each
trial as one run with the rung it reached."""

import os
import signal

import pandas as pd
import pytest
from mlflow.tracking import MlflowClient
from reliability_runs import reliability_config, shard_process, wait_for, wait_for_line

from support.runner import Run, same_numbers, snakemake, start_snakemake

pytestmark = pytest.mark.e2e


def halving_config(shards: int = 1) -> dict:
    """Two brackets of two rungs (40 then 80 epochs): 3 proposals per arm, the best of each arm goes on;
    both arms in both brackets (no race), so that each bracket cuts the same way."""
    config = reliability_config(experiment="halving")
    config["finetune"] |= {
        "trials_per_parent": 3, "shards": shards, "pack_size": 1, "allocation": "even",
        "strategy": {"name": "tpe", "rounds": 2, "startup_trials": 2}, "halving": {"rungs": 2, "eta": 2},
    }  # fmt: skip
    return config


@pytest.fixture(scope="module")
def three_shards(tmp_path_factory) -> Run:
    """An uninterrupted run on three shards; the one-shard run of the last test must reach its numbers."""
    workdir = tmp_path_factory.mktemp("halving-three-shards")
    run = Run(workdir, halving_config(shards=3), snakemake(workdir, halving_config(shards=3)))
    assert run.process.returncode == 0, run.output[-5000:]
    return run


def test_halving_cuts_each_bracket_to_its_best_and_continues_them_to_the_full_budget(three_shards):
    table = pd.read_csv(three_shards.results / "trials.csv")
    tuning = table[table.stage == "finetune"]
    assert len(tuning) == 2 * 2 * 3  # two brackets of two arms of three proposals: one row per trial
    assert sorted(tuning.status) == ["FINISHED"] * 4 + ["PRUNED"] * 8
    assert set(tuning[tuning.status == "PRUNED"].budget) == {40} and set(
        tuning[tuning.status == "FINISHED"].budget
    ) == {80}
    assert set(tuning[tuning.status == "FINISHED"].stopped_epoch) == {80}  # continued to the full budget


def test_mlflow_shows_each_trial_as_one_run_with_the_rung_it_reached(three_shards):
    client = MlflowClient(three_shards.tracking_uri)
    runs = three_shards.mlflow_runs("tags.`layerwise.role` = 'trial' and tags.`layerwise.stage` = 'finetune'")
    assert len(runs) == len({run.info.run_name for run in runs}) == 12
    for run in runs:
        tags = run.data.tags
        assert run.info.status == "FINISHED" and tags["layerwise.status"] in ("FINISHED", "PRUNED")
        steps = [point.step for point in client.get_metric_history(run.info.run_id, "valid_error")]
        reached = 80 if tags["layerwise.status"] == "FINISHED" else 40
        assert (tags["layerwise.rung"], tags["layerwise.budget"]) == (str(reached // 80), str(reached))
        assert steps == list(range(1, reached + 1))  # one curve across the rungs
    summary = (three_shards.results / "summary.md").read_text()
    assert "Successive halving in finetune: 8 of 12 trials pruned; 640 epochs trained of the 960" in summary


def test_one_shard_killed_mid_rung_reruns_to_the_cuts_and_numbers_of_three_uninterrupted(three_shards, tmp_path):
    config = halving_config()
    process = start_snakemake(tmp_path, config)
    run = Run(tmp_path, config, None)
    wait_for_line(run.results / "logs/finetune/r1-shard-0.log", "[1] finetune")  # rung 1: one trial went on

    def continued_trial_trains():
        return any(r.info.status == "RUNNING" for r in run.mlflow_runs("tags.`layerwise.rung` = '1'"))

    wait_for(continued_trial_trains, what="the second trial of rung 1 to train")
    os.kill(shard_process("finetune", 0, tmp_path), signal.SIGKILL)
    assert process.wait(timeout=600) != 0
    rerun = snakemake(tmp_path, config, "--rerun-incomplete")
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    same_numbers(run, three_shards)
    statuses = [r.info.status for r in run.mlflow_runs("tags.`layerwise.role` = 'trial'")]
    assert set(statuses) == {"FINISHED"}  # the killed trial's run, reopened, finished
