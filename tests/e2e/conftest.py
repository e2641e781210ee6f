"""Session-wide workflow runs shared by the end-to-end tests, and an MLflow server on the smoke run's store."""

import pytest

from support.mlflowserver import mlflow_server
from support.runner import Run, sharded_smoke_config, snakemake


@pytest.fixture(scope="session")
def smoke_run(tmp_path_factory) -> Run:
    """The smoke config in 3 shards per stage on 2 cores."""
    workdir, config = tmp_path_factory.mktemp("three-shards"), sharded_smoke_config(3)
    run = Run(workdir, config, snakemake(workdir, config))
    assert run.process.returncode == 0, run.output[-5000:]
    return run


@pytest.fixture(scope="session")
def server(smoke_run, tmp_path_factory):
    """A real `mlflow server` on 127.0.0.1 over the smoke run's store, for the REST and browser tests."""
    with mlflow_server(smoke_run.tracking_uri, tmp_path_factory.mktemp("server") / "server.log") as base:
        yield base
