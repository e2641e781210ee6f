# tests/ is on sys.path (this file's folder), so tests import their shared helpers from `support`.
import pytest

from support.slurmnode import slurm_node


@pytest.fixture(scope="session", autouse=True)
def slurm_started(request, tmp_path_factory):
    """Where the session holds a SLURM test, the SLURM node and its run start with the session, to run
    beside the other tests (support/slurmnode.py); None otherwise."""
    if not any(item.get_closest_marker("slurm") for item in request.session.items):
        yield None
        return
    with slurm_node(tmp_path_factory.mktemp("slurm"), tmp_path_factory.mktemp("slurm-run")) as node:
        yield node
