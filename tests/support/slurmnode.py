"""A single-node SLURM on localhost and the smoke config's run through it, started when the test session
starts: the run takes minutes, most of them spent waiting between the SLURM plugin's status checks
(it waits 10 s longer after each check that finds no job ended), so it goes on beside the other tests
and the SLURM tests only wait for what is left of it."""

import os
import shutil
import subprocess
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from support.processes import running
from support.repo import LOCAL_ONLY, LOCAL_REASON, REPO
from support.runner import Run, sharded_smoke_config, start_snakemake

SCRIPT = REPO / "scripts" / "slurm-localhost.sh"
PROFILE = REPO / "workflow" / "profiles" / "slurm"
DAEMONS = ("slurmctld", "slurmd", "munged")
SHARDS = 2  # per stage: each stage's shards run side by side on the node's 2 CPUs


@dataclass
class SlurmNode:
    unavailable: str | None = None  # why no node could start (the SLURM tests skip with it)
    started: subprocess.CompletedProcess | None = None  # the start script's outcome
    state: Path | None = None
    pids: dict | None = None
    workdir: Path | None = None
    config: dict | None = None
    process: subprocess.Popen | None = None

    def finished_run(self) -> Run:
        """The run, once it has ended."""
        returncode = self.process.wait(timeout=900)
        output = (self.workdir / "snakemake.out").read_text()
        return Run(self.workdir, self.config, subprocess.CompletedProcess(self.process.args, returncode, output, ""))


def unavailable() -> str | None:
    if LOCAL_ONLY:
        return LOCAL_REASON
    if os.geteuid() != 0:
        return "a SLURM node on localhost needs root (slurmd runs jobs as their submitter)"
    if shutil.which("slurmctld") is None:
        return "SLURM is not installed (make slurm installs Debian's slurmctld, slurmd and munge)"
    return None


@contextmanager
def slurm_node(state: Path, workdir: Path):
    """Starts the node (by the repository's script) and the run on it; on leaving, ends the run if it
    is still going, stops the node by pid and checks that no daemon and no munge key it made are left."""
    if reason := unavailable():
        yield SlurmNode(unavailable=reason)
        return
    key = Path("/etc/munge/munge.key")
    had_key = key.exists()
    started = subprocess.run([SCRIPT, "start", state], capture_output=True, text=True, timeout=300)
    pids = {name: int(path.read_text()) for name in DAEMONS if (path := state / f"{name}.pid").exists()}
    node = SlurmNode(started=started, state=state, pids=pids)
    try:
        if started.returncode == 0:
            node.workdir, node.config = workdir, sharded_smoke_config(SHARDS)  # the local run has 3: same numbers
            node.process = start_snakemake(
                workdir, node.config, "--workflow-profile", str(PROFILE),
                "--slurm-init-seconds-before-status-checks", "3",  # jobs of seconds: look soon (then every +10 s)
            )  # fmt: skip
        yield node
    finally:
        if node.process is not None and node.process.poll() is None:
            node.process.kill()
            node.process.wait()
        subprocess.run([SCRIPT, "stop", state], capture_output=True, timeout=120)
        assert not [name for name, pid in pids.items() if running(pid)], "a daemon outlived the stop"
        assert key.exists() == had_key, "the munge key the script created outlived the stop"
