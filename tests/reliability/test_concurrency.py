"""Many shard jobs at once, all writing to the default sqlite store: no trial run lost, none failed on
a locked database, the run tree complete (test_postgres.py does the same against a tracking server)."""

import pandas as pd
import pytest
from reliability_runs import SHARDS, eight_shard_config

from support.runner import Run, snakemake

pytestmark = pytest.mark.e2e


def test_eight_shards_per_stage_on_eight_cores_lose_no_trial_run(tmp_path):
    config = eight_shard_config("concurrent")
    run = Run(tmp_path, config, snakemake(tmp_path, config, cores=SHARDS))
    assert run.process.returncode == 0, run.output[-5000:]
    logs = [path.read_text() for path in run.results.glob("logs/**/*.log")] + [run.output]
    assert not [log for log in logs if "database is locked" in log or "warning: MLflow did not record" in log]
    trials = pd.read_csv(run.results / "trials.csv")
    assert len(trials) == 1 + SHARDS + 2 * SHARDS  # preprocessing, layer 1, fine-tuning on one stack and on none
    assert len(list(run.results.glob("finetune/shards/r0-*.json"))) == SHARDS
    runs = run.mlflow_runs()
    names = sorted(r.info.run_name for r in runs if r.data.tags["layerwise.role"] == "trial")
    assert names == sorted(trials.trial_id)  # each trial exactly once
    assert {r.info.status for r in runs} == {"FINISHED"}
    assert sorted(r.info.run_name for r in runs if r.data.tags["layerwise.role"] != "trial") == sorted(
        ["pipeline", "preprocess", "layer1", "finetune", "evaluation"]
    )
