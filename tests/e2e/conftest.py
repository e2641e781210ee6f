"""Session-wide workflow runs shared by the end-to-end tests, and an MLflow server on the smoke run's store."""

import pytest

from mlflowserver import mlflow_server
from runner import Run, sharded_smoke_config, snakemake


def run_workflow(tmp_path_factory, name: str, config: dict, cores: int = 2) -> Run:
    workdir = tmp_path_factory.mktemp(name)
    run = Run(workdir, config, snakemake(workdir, config, cores=cores))
    return run


@pytest.fixture(scope="session")
def smoke_run(tmp_path_factory) -> Run:
    """The smoke config in 3 shards per stage on 2 cores."""
    run = run_workflow(tmp_path_factory, "three-shards", sharded_smoke_config(3))
    assert run.process.returncode == 0, run.output[-5000:]
    return run


@pytest.fixture(scope="session")
def single_shard_run(tmp_path_factory) -> Run:
    """The same trials in 1 shard per stage on 1 core."""
    run = run_workflow(tmp_path_factory, "one-shard", sharded_smoke_config(1), cores=1)
    assert run.process.returncode == 0, run.output[-5000:]
    return run


@pytest.fixture(scope="session")
def server(smoke_run, tmp_path_factory):
    """A real `mlflow server` on 127.0.0.1 over the smoke run's store, for the REST and browser tests."""
    with mlflow_server(smoke_run.tracking_uri, tmp_path_factory.mktemp("server") / "server.log") as base:
        yield base
