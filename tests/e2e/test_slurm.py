"""The smoke config through a real SLURM (single node, on localhost) with the shipped SLURM profile:
the jobs go through sbatch, and the numbers and the MLflow tree equal those of the local run."""

import os
import re
import shutil
import subprocess
from collections import Counter
from pathlib import Path

import pytest

from support.processes import running
from support.repo import LOCAL_ONLY, LOCAL_REASON, REPO
from support.runner import Run, same_numbers, sharded_smoke_config, snakemake

pytestmark = [pytest.mark.e2e, pytest.mark.slurm]

SCRIPT = REPO / "scripts" / "slurm-localhost.sh"
PROFILE = REPO / "workflow" / "profiles" / "slurm"
DAEMONS = ("slurmctld", "slurmd", "munged")
SHARDS = 2  # per stage: each stage's shards run side by side on the node's 2 CPUs
# The SLURM jobs of the smoke config: everything but the bookkeeping rules (`localrules` in the Snakefile).
CLUSTER_JOBS = {
    "prepare_data": 1,
    "preprocess": 1,
    "run_shard": 4 * SHARDS,
    "retrain": 3,
    "retrain_twin": 3,  # the seed study's members trained on train only, to judge the ensemble
    "evaluate": 1,
    "package_model": 1,
}


@pytest.fixture(scope="module")
def slurm(tmp_path_factory):
    """A single-node SLURM on localhost, started by the repository's script and stopped by pid."""
    if LOCAL_ONLY:
        pytest.skip(LOCAL_REASON)
    if os.geteuid() != 0:
        pytest.skip("a SLURM node on localhost needs root (slurmd runs jobs as their submitter)")
    if shutil.which("slurmctld") is None:
        pytest.skip("SLURM is not installed (make slurm installs Debian's slurmctld, slurmd and munge)")
    state, key = tmp_path_factory.mktemp("slurm"), Path("/etc/munge/munge.key")
    had_key = key.exists()
    started = subprocess.run([SCRIPT, "start", state], capture_output=True, text=True, timeout=300)
    pids = {name: int(path.read_text()) for name in DAEMONS if (path := state / f"{name}.pid").exists()}
    try:
        assert started.returncode == 0, started.stdout + started.stderr
        assert {"slurmctld", "slurmd"} <= pids.keys()
        yield state
    finally:
        subprocess.run([SCRIPT, "stop", state], capture_output=True, timeout=120)
        assert not [name for name, pid in pids.items() if running(pid)], "a daemon outlived the stop"
        assert key.exists() == had_key, "the munge key the script created outlived the stop"


@pytest.fixture(scope="module")
def slurm_run(slurm, tmp_path_factory) -> Run:
    workdir = tmp_path_factory.mktemp("slurm-run")
    config = sharded_smoke_config(SHARDS)  # the local run has 3 shards: the numbers must not change
    process = snakemake(
        workdir, config, "--workflow-profile", str(PROFILE),
        "--slurm-init-seconds-before-status-checks", "3",  # jobs of seconds: look soon (then every +10 s)
    )  # fmt: skip
    run = Run(workdir, config, process)
    assert process.returncode == 0, run.output[-5000:]
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
