"""The smoke config through a real SLURM (single node, on localhost) with the shipped SLURM profile:
the jobs go through sbatch, and the numbers and the MLflow tree equal those of the local run."""

import re
import subprocess
from collections import Counter

import pytest

from support.runner import Run, same_numbers
from support.slurmnode import SHARDS, SlurmNode

pytestmark = [pytest.mark.e2e, pytest.mark.slurm]

# The SLURM jobs of the smoke config: everything but the bookkeeping rules (`localrules` in the Snakefile).
CLUSTER_JOBS = {
    "prepare_data": 1,
    "preprocess": 1,
    "run_shard": 4 * SHARDS,
    "retrain": 3,
    "retrain_twin": 3,  # the seed study's members' twins, cross-fitted to judge the final model
    "evaluate": 1,
    "package_model": 1,
}


@pytest.fixture(scope="module")
def slurm_run(slurm_started: SlurmNode) -> Run:
    """The run that tests/conftest.py started with the session on a SLURM node on localhost, once ended."""
    if slurm_started.unavailable:
        pytest.skip(slurm_started.unavailable)
    started = slurm_started.started
    assert started.returncode == 0, started.stdout + started.stderr
    assert {"slurmctld", "slurmd"} <= slurm_started.pids.keys()
    run = slurm_started.finished_run()
    assert run.process.returncode == 0, run.output[-5000:]
    return run


def submitted_jobs(run: Run) -> dict[str, str]:
    """SLURM job id -> rule, from the lines where Snakemake reports a submission and its log, rule_<rule>/..."""
    found = re.findall(r"submitted with SLURM jobid (\d+) \(log: \S*/slurm_logs/rule_(\w+)/", run.output)
    return dict(found)


def test_training_jobs_ran_as_slurm_jobs(slurm_run):
    jobs = submitted_jobs(slurm_run)
    assert Counter(jobs.values()) == CLUSTER_JOBS
    # SLURM itself saw each of them end well (finished jobs stay in squeue for MinJobAge).
    listed = subprocess.run(
        ["squeue", "--states=all", "--noheader", "--format=%i|%T"], capture_output=True, text=True, check=True
    ).stdout
    states = dict(line.split("|") for line in listed.split())
    assert {job: states.get(job) for job in jobs} == dict.fromkeys(jobs, "COMPLETED")


def test_a_slurm_run_in_other_shards_gives_the_numbers_of_the_local_run(slurm_run, smoke_run):
    """Also the proof that the shard count (2 here, 3 there), the cores, and jobs started cold (here: no
    fork server on a cluster) or forked from the fork server (there) do not change the numbers."""
    assert not (slurm_run.results / "logs" / "fork_server.log").exists()
    same_numbers(slurm_run, smoke_run)


def test_a_slurm_run_logs_the_whole_mlflow_tree(slurm_run, smoke_run):
    def tree(run: Run) -> list[tuple]:
        """Each run as (role, stage, trial) under its parent's (role, stage)."""
        runs = {r.info.run_id: r for r in run.mlflow_runs()}

        def node(r) -> tuple:
            return r.data.tags["layerwise.role"], r.data.tags.get("layerwise.stage")

        parents = {key: runs.get(r.data.tags.get("mlflow.parentRunId")) for key, r in runs.items()}
        return sorted(
            (*node(r), r.data.tags.get("layerwise.trial"), node(parents[key]) if parents[key] else None)
            for key, r in runs.items()
        )

    assert tree(slurm_run) == tree(smoke_run)
    assert {r.info.status for r in slurm_run.mlflow_runs()} == {"FINISHED"}


def test_a_cluster_run_on_the_sqlite_store_is_warned_and_a_local_one_is_not(slurm_run, smoke_run):
    warning = "sqlite on a network file system is unsafe"
    assert warning in slurm_run.output and warning not in smoke_run.output
