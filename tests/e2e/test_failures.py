"""Failures through `snakemake`: diverging trials, a stage where everything fails (bad configs: tests/reliability)."""

import mlflow
import pandas as pd
import pytest

from support.runner import LEAN, Run, smoke_config, snakemake

pytestmark = pytest.mark.e2e

ONE_LAYER = {  # trained layers only: a layer left at its random weights ("none") cannot diverge
    **LEAN,
    "pretrain": {"layers": 1, "top_k": 1, "trials_per_parent": 4, "shards": 2, "space": {"algorithm": "autoencoder"}},
    "finetune": {"trials_per_parent": 1},
}


def test_a_diverging_trial_is_recorded_as_failed_and_the_run_goes_on(tmp_path):
    config = smoke_config(experiment="diverging", **ONE_LAYER)
    config["pretrain"]["space"]["learning_rate"] = {"type": "categorical", "choices": [0.01, 1.0e6]}
    run = Run(tmp_path, config, snakemake(tmp_path, config))
    assert run.process.returncode == 0, run.output[-3000:]
    table = pd.read_csv(run.results / "trials.csv")
    failed = table[table.status == "FAILED"]
    assert len(failed) >= 1 and (table.status == "FINISHED").sum() >= 1
    assert failed.reason.str.startswith("diverged").all() and (failed.learning_rate == 1.0e6).all()
    mlflow.set_tracking_uri(run.tracking_uri)
    runs = mlflow.search_runs(experiment_names=["diverging"], filter_string="tags.`layerwise.role` = 'trial'")
    failed_runs = runs[runs.status == "FAILED"]
    assert set(failed_runs["tags.mlflow.runName"]) == set(failed.trial_id)
    assert failed_runs["tags.layerwise.failure_reason"].str.startswith("diverged").all()
    assert (run.results / "summary.json").exists()


def test_a_stage_where_every_trial_fails_stops_the_run_and_says_why(tmp_path):
    config = smoke_config(experiment="all-fail", **ONE_LAYER)
    config["pretrain"]["space"]["learning_rate"] = 1.0e6
    run = Run(tmp_path, config, snakemake(tmp_path, config))
    assert run.process.returncode != 0
    log = (run.results / "logs" / "layer1" / "select.log").read_text()
    assert "every trial of stage layer1 failed (4 trials); reasons: diverged" in log
    assert "Traceback" not in log
    assert not (run.results / "summary.json").exists()
