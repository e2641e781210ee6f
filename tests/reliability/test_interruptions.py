"""Killed and interrupted runs: nothing left RUNNING in MLflow, one finished run per trial, and a rerun
that reaches the numbers of an uninterrupted run without redoing finished shards."""

import os
import signal

import pytest
from reliability_runs import RELIABILITY, reliability_config, shard_process, wait_for, wait_for_line

from support.runner import Run, same_numbers, snakemake, start_snakemake

pytestmark = pytest.mark.e2e

FINETUNE_LOG = "logs/finetune/r0-shard-0.log"
SECOND_TRIAL = "finetune-r0-t0002"  # shard 0 runs trials 0 and 2, those dealt to it (claims.py)


def trial_runs(run: Run) -> dict[str, list]:
    """Trial name -> its runs, oldest first."""
    runs = {}
    for trial in sorted(run.mlflow_runs("tags.`layerwise.role` = 'trial'"), key=lambda r: r.info.start_time):
        runs.setdefault(trial.info.run_name, []).append(trial)
    return runs


def training(run: Run, trial: str) -> bool:
    """Whether `trial` has opened its MLflow run and trains (its shard logs nothing until it ends)."""
    return any(r.info.status == "RUNNING" for r in run.mlflow_runs(f"attributes.run_name = '{trial}'"))


def interrupted_while_fine_tuning(tmp_path, how, config=RELIABILITY, ready=lambda run: True) -> Run:
    """Starts a run of `config` and, once shard 0 of fine-tuning has finished one trial and trains the
    next (and `ready(run)` holds), stops it by `how` (a callable given the snakemake process)."""
    process = start_snakemake(tmp_path, config)
    run = Run(tmp_path, config, None)
    wait_for_line(run.results / FINETUNE_LOG, "[1] finetune")
    wait_for(lambda: training(run, SECOND_TRIAL) and ready(run), what=f"{SECOND_TRIAL} to train")
    how(process)
    output = tmp_path / "snakemake.out"
    assert process.wait(timeout=600) != 0, output.read_text()[-3000:]
    return run


def test_ctrl_c_closes_every_open_run_and_a_rerun_resumes_without_redoing_finished_shards(tmp_path, reference):
    run = interrupted_while_fine_tuning(tmp_path, lambda process: os.killpg(process.pid, signal.SIGINT))
    statuses = {r.info.run_name: r.info.status for r in run.mlflow_runs()}
    assert "RUNNING" not in statuses.values()
    assert statuses["pipeline"] == statuses["finetune"] == "KILLED"
    assert statuses["layer1"] == "FINISHED"
    interrupted = [
        r for r in run.mlflow_runs("attributes.status = 'KILLED'") if r.data.tags["layerwise.role"] == "trial"
    ]
    assert interrupted and all(r.data.tags["layerwise.closed_by"] for r in interrupted)

    finished_shards = {path: path.stat().st_mtime_ns for path in run.results.glob("layer1/shards/*.json")}
    rerun = snakemake(tmp_path, RELIABILITY, "--rerun-incomplete")
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    assert finished_shards and all(path.stat().st_mtime_ns == mtime for path, mtime in finished_shards.items())
    assert {r.info.run_name: r.info.status for r in run.mlflow_runs()}["pipeline"] == "FINISHED"
    same_numbers(run, reference)


def test_a_shard_killed_mid_trial_resumes_from_its_checkpoint_with_one_finished_run_per_trial(tmp_path, reference):
    config = reliability_config(finetune={**RELIABILITY["finetune"], "checkpoint_after_s": 0})
    checkpoints = tmp_path / "results" / config["experiment"] / "finetune" / "checkpoints"
    run = interrupted_while_fine_tuning(
        tmp_path,
        lambda process: os.kill(shard_process("finetune", 0, tmp_path), signal.SIGKILL),
        config,
        ready=lambda run: (checkpoints / f"{SECOND_TRIAL}.pt").exists(),  # it has saved an epoch
    )
    assert all(r.info.status != "RUNNING" for r in run.mlflow_runs())  # closed by the workflow's error hook
    killed = [runs[-1] for runs in trial_runs(run).values() if runs[-1].info.status == "KILLED"]
    assert [r.info.run_name for r in killed] == [SECOND_TRIAL]

    rerun = snakemake(tmp_path, config, "--rerun-incomplete")
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    assert "resumed from the saved state after epoch" in (run.results / FINETUNE_LOG).read_text()
    assert not any(checkpoints.glob("*.pt"))  # finished trials leave none behind
    for name, runs in trial_runs(run).items():
        current = [r for r in runs if r.data.tags.get("layerwise.superseded") != "true"]
        assert [r.info.status for r in current] == ["FINISHED"], name
        assert all(r.info.status == "KILLED" for r in runs if r not in current), name
    assert {r.info.status for r in run.mlflow_runs() if r.data.tags["layerwise.role"] != "trial"} == {"FINISHED"}
    same_numbers(run, reference)
