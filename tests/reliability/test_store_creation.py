"""A fresh store created by several workflows at the same moment: one creates it, the others wait and
use it, and the store stays usable (MLflow's migrations run once)."""

import subprocess
import sys

import mlflow
import pytest

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize("attempt", range(3))
def test_four_workflows_initialising_one_fresh_store_at_once_all_succeed(tmp_path, attempt):
    uri = f"sqlite:///{tmp_path / 'results' / 'mlflow.db'}"
    commands = [
        [sys.executable, "-m", "layerwise", "step", "init-tracking", "--uri", uri,
         "--experiment", f"experiment-{index % 2}",
         "--artifact-root", str(tmp_path / "results" / f"experiment-{index % 2}" / "mlartifacts"),
         "--out", str(tmp_path / f"tracking-{index}.json")]
        for index in range(4)
    ]  # fmt: skip
    started = [
        subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for command in commands
    ]
    finished = [(process.wait(timeout=300), process.stderr.read()) for process in started]
    assert [code for code, _ in finished] == [0] * 4, [error[-2000:] for _, error in finished]
    client = mlflow.MlflowClient(uri)
    experiments = {e.name for e in client.search_experiments()}
    assert {"experiment-0", "experiment-1"} <= experiments  # two workflows per experiment: one each, not two
    run = client.create_run(client.get_experiment_by_name("experiment-0").experiment_id)
    client.log_metric(run.info.run_id, "after", 1.0)
    assert client.get_run(run.info.run_id).data.metrics == {"after": 1.0}
    assert len(client.search_runs([client.get_experiment_by_name("experiment-1").experiment_id])) == 2
