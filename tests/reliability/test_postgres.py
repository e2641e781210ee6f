"""The tracking mode for many machines: an MLflow server (started by workflow/scripts/tracking-server.sh)
on a real PostgreSQL, eight shard jobs per stage at once logging to it, the run tree read back
through REST: each trial exactly once, every run FINISHED."""

import os
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from reliability_runs import SHARDS, eight_shard_config

from support import postgres
from support.mlflowserver import call, free_port
from support.processes import running
from support.repo import LOCAL_ONLY, LOCAL_REASON, REPO
from support.runner import Run, snakemake

pytestmark = pytest.mark.e2e

SCRIPT = REPO / "workflow" / "scripts" / "tracking-server.sh"


@pytest.fixture()
def tracking_server(tmp_path):
    if LOCAL_ONLY:
        pytest.skip(LOCAL_REASON)
    if not postgres.available():
        pytest.skip("no PostgreSQL server binaries: `make postgres` installs Debian's postgresql")
    with postgres.postgres_database() as database:
        port, state = free_port(), tmp_path / "server"
        command = [str(SCRIPT), "start", "--backend-store-uri", database, "--port", str(port), "--workers", "2"]
        environment = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
        started = subprocess.run(
            [*command, "--state-dir", str(state)], capture_output=True, text=True, timeout=300, env=environment
        )
        assert started.returncode == 0, started.stderr + (state / "server.log").read_text()
        pid = int((state / "server.pid").read_text())
        try:
            yield f"http://127.0.0.1:{port}"
        finally:
            subprocess.run([str(SCRIPT), "stop", "--state-dir", str(state)], timeout=60)
        deadline = time.monotonic() + 30
        while running(pid):  # stopped, by its process id
            assert time.monotonic() < deadline, f"the tracking server (pid {pid}) is still running"
            time.sleep(0.5)


def test_parallel_jobs_log_the_whole_run_tree_to_a_server_on_postgresql(tmp_path, tracking_server):
    config = eight_shard_config("postgres")
    tracking = {"MLFLOW_TRACKING_URI": tracking_server}
    run = Run(tmp_path, config, snakemake(tmp_path, config, cores=SHARDS, env=tracking))
    assert run.process.returncode == 0, run.output[-5000:]
    experiment = call(tracking_server, "experiments/get-by-name", experiment_name="postgres")["experiment"]
    runs = call(tracking_server, "runs/search", {"experiment_ids": [experiment["experiment_id"]], "max_results": 1000})
    tags = {r["info"]["run_id"]: {t["key"]: t["value"] for t in r["data"]["tags"]} for r in runs["runs"]}
    statuses = {r["info"]["status"] for r in runs["runs"]}
    trials = {run_id: tag for run_id, tag in tags.items() if tag["layerwise.role"] == "trial"}
    assert sorted(tag["mlflow.runName"] for tag in trials.values()) == sorted(
        pd.read_csv(run.results / "trials.csv").trial_id
    )
    assert statuses == {"FINISHED"}
    assert all(tags[tag["mlflow.parentRunId"]]["layerwise.role"] == "stage" for tag in trials.values())
    assert not (tmp_path / "results" / "mlflow.db").exists()  # nothing went to the default sqlite store
