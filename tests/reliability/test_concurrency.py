"""Many shard jobs at once, all writing to the default sqlite store or to a real mlflow server (the
multi-machine mode): no trial run lost, none failed on a locked database, the run tree complete."""

import contextlib

import pandas as pd
import pytest
from reliability_runs import RELIABILITY, reliability_config

from mlflowserver import mlflow_server
from runner import Run, snakemake

pytestmark = pytest.mark.e2e

SHARDS = 8


def eight_shard_config() -> dict:
    pretrain = {**RELIABILITY["pretrain"], "shards": SHARDS, "trials_per_parent": SHARDS}
    finetune = {**RELIABILITY["finetune"], "shards": SHARDS, "trials_per_parent": SHARDS, "patience": 3}
    finetune["space"] = {**finetune["space"], "max_epochs": 3}
    return reliability_config(experiment="concurrent", pretrain=pretrain, finetune=finetune)


@pytest.mark.parametrize("mode", ["sqlite", "server"])
def test_eight_shards_per_stage_on_eight_cores_lose_no_trial_run(tmp_path, mode):
    config = eight_shard_config()
    store = f"sqlite:///{tmp_path / 'results' / 'mlflow.db'}"  # where the run's records end up either way
    (tmp_path / "results").mkdir()
    with mlflow_server(store, tmp_path / "server.log") if mode == "server" else contextlib.nullcontext() as server:
        tracking = {"MLFLOW_TRACKING_URI": server} if server else {}
        run = Run(tmp_path, config, snakemake(tmp_path, config, cores=SHARDS, env=tracking))
        assert run.process.returncode == 0, run.output[-5000:]
        if server:
            assert run.results.joinpath("tracking.json").read_text().count(server) == 1
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
