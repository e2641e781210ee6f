"""The reliability config's uninterrupted run, against which interrupted and repeated runs are compared."""

import pytest
from reliability_runs import RELIABILITY

from support.runner import Run, snakemake


@pytest.fixture(scope="session")
def reference(tmp_path_factory) -> Run:
    """The reliability config run once, uninterrupted."""
    workdir = tmp_path_factory.mktemp("reference")
    run = Run(workdir, RELIABILITY, snakemake(workdir, RELIABILITY))
    assert run.process.returncode == 0, run.output[-5000:]
    return run
