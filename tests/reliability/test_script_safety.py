"""The shell scripts that start and stop daemons kill only what they started, keep their state where
no other user can plant a pid, and keep credentials off command lines."""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from support.mlflowserver import free_port
from support.processes import running
from support.repo import REPO

TRACKING_SERVER = REPO / "workflow" / "scripts" / "tracking-server.sh"
SLURM_LOCALHOST = REPO / "scripts" / "slurm-localhost.sh"
ENVIRONMENT = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}


@pytest.fixture()
def bystander():
    """A process the scripts must leave alone."""
    process = subprocess.Popen(["sleep", "300"], start_new_session=True)
    yield process.pid
    process.kill()
    process.wait()


def script(*arguments, timeout: int = 60) -> subprocess.CompletedProcess:
    command = [str(argument) for argument in arguments]
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout, env=ENVIRONMENT)


@pytest.mark.parametrize(
    "uri",
    [
        "postgresql://mlflow:s3cr3t@db/mlflow", "postgresql://mlflow@db/mlflow?sslmode=require&password=s3cr3t",
        "postgresql://mlflow@db/mlflow?sslpassword=s3cr3t",
    ],
)  # fmt: skip
def test_the_tracking_server_refuses_a_password_in_its_backend_uri(tmp_path, uri):
    started = script(TRACKING_SERVER, "start", "--backend-store-uri", uri, "--state-dir", tmp_path / "server")
    assert started.returncode == 2 and "tracking-server: --backend-store-uri: the URI carries" in started.stderr
    assert "s3cr3t" not in started.stderr
    assert not (tmp_path / "server" / "server.pid").exists()


def test_the_tracking_server_keeps_its_backend_uri_off_command_lines_and_stops_by_its_pid(tmp_path):
    state, store = tmp_path / "server", tmp_path / "store-name-to-find.db"
    started = script(
        TRACKING_SERVER, "start", "--backend-store-uri", f"sqlite:///{store}", "--port", free_port(),
        "--workers", 1, "--state-dir", state, timeout=300,
    )  # fmt: skip
    assert started.returncode == 0, started.stderr + (state / "server.log").read_text()
    pid = int((state / "server.pid").read_text())
    try:
        assert oct((state).stat().st_mode & 0o777) == "0o700"
        command_lines = subprocess.run(["ps", "-eww", "-o", "args"], capture_output=True, text=True, check=True).stdout
        assert "mlflow server" in command_lines and store.name not in command_lines
    finally:
        stopped = script(TRACKING_SERVER, "stop", "--state-dir", state)
    assert stopped.returncode == 0, stopped.stderr
    deadline = time.monotonic() + 30
    while running(pid):
        assert time.monotonic() < deadline, f"the tracking server (pid {pid}) is still running"
        time.sleep(0.5)


def test_the_tracking_server_stop_leaves_alone_a_pid_that_is_not_its_server(tmp_path, bystander):
    state = tmp_path / "server"
    state.mkdir()
    (state / "server.pid").write_text(f"{bystander}\n")
    stopped = script(TRACKING_SERVER, "stop", "--state-dir", state)
    assert stopped.returncode == 0 and "not an mlflow server" in stopped.stderr
    time.sleep(0.5)
    assert running(bystander) and not (state / "server.pid").exists()


root_only = pytest.mark.skipif(os.geteuid() != 0, reason="slurm-localhost.sh runs as root")


def planted(folder: Path, pid: int) -> Path:
    folder.mkdir(mode=0o700, exist_ok=True)
    for daemon in ("slurmd", "slurmctld", "munged"):
        (folder / f"{daemon}.pid").write_text(f"{pid}\n")
    return folder


@root_only
@pytest.mark.parametrize("how", ["another owner", "open mode", "symbolic link"])
def test_the_slurm_script_refuses_a_state_folder_that_is_not_roots_alone(tmp_path, bystander, how):
    state = planted(tmp_path / "state", bystander)
    if how == "another owner":
        os.chown(state, 65534, 65534)
    elif how == "open mode":
        state.chmod(0o777)
    else:
        (tmp_path / "link").symlink_to(state)
        state = tmp_path / "link"
    for action in ("stop", "start"):
        refused = script(SLURM_LOCALHOST, action, state)
        assert refused.returncode == 1 and str(state) in refused.stderr, refused.stderr
    time.sleep(0.5)
    assert running(bystander) and (tmp_path / "state" / "slurmd.pid").exists()


@root_only
def test_the_slurm_script_stop_leaves_alone_a_pid_that_is_not_its_daemon_and_another_nodes_config(tmp_path, bystander):
    state = planted(tmp_path / "state", bystander)
    conf = Path("/etc/slurm/slurm.conf")  # the session's SLURM node's, if one runs (tests/conftest.py)
    written = not conf.exists()
    if written:  # one the script wrote for a node in another state folder
        conf.parent.mkdir(parents=True, exist_ok=True)
        conf.write_text("# written by layerwise scripts/slurm-localhost.sh\nStateSaveLocation=/elsewhere/ctld\n")
    before = conf.read_text()
    try:
        stopped = script(SLURM_LOCALHOST, "stop", state)
        assert stopped.returncode == 0, stopped.stderr
        assert stopped.stderr.count(f"pid {bystander}") == 3 and "left alone" in stopped.stderr
        assert conf.exists() and conf.read_text() == before
    finally:
        if written:
            conf.unlink(missing_ok=True)
    time.sleep(0.5)
    assert running(bystander)


INSTALL_DEBIAN = REPO / "scripts" / "install-debian.sh"


@root_only  # as root the script installs without asking sudo
def test_make_test_says_what_it_installs_and_why_before_it_does(tmp_path):
    (tmp_path / "apt-get").write_text(f'#!/bin/sh\necho "$@" >> {tmp_path / "apt.log"}\n')
    (tmp_path / "apt-get").chmod(0o755)
    environment = {"PATH": f"{tmp_path}:/usr/bin:/bin"}
    command = [INSTALL_DEBIAN, "the test of a thing", "no-such-command-here", "pkg-one", "pkg-two"]
    done = subprocess.run(command, capture_output=True, text=True, env=environment, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "installing pkg-one pkg-two with apt-get for the test of a thing" in done.stderr
    assert "make test-local" in done.stderr
    assert (tmp_path / "apt.log").read_text().splitlines()[-1] == "install -y -qq pkg-one pkg-two"


def test_make_test_local_installs_nothing_and_tells_the_daemon_tests_to_skip():
    planned = subprocess.run(["make", "-n", "test-local"], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert planned.returncode == 0, planned.stderr
    assert "install-debian" not in planned.stdout and "apt-get" not in planned.stdout
    assert "LAYERWISE_TEST_LOCAL=1" in planned.stdout and "pytest" in planned.stdout
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rs", "tests/reliability/test_postgres.py"],
        cwd=REPO, capture_output=True, text=True, timeout=300, env={**ENVIRONMENT, "LAYERWISE_TEST_LOCAL": "1"},
    )  # fmt: skip
    assert run.returncode == 0 and "make test-local starts no system daemon" in run.stdout, run.stdout[-2000:]
