"""The fork server (forkserver.py, forkclient.py): a `layerwise` command run through it behaves as the
same command run cold (streams, folder, environment, exit code, signals), and runs cold where no
server serves it."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from layerwise.command import forkclient, forkserver
from support.processes import running
from support.repo import REPO

LAYERWISE = str(Path(sys.executable).parent / "layerwise")


def wait_until(condition, what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"no {what} after {timeout} s"
        time.sleep(0.05)


@pytest.fixture
def server(tmp_path):
    """A fork server whose children run tests/support/forkserved.py's commands; its socket's path."""
    address = tmp_path / "socket"
    process = subprocess.Popen(
        [sys.executable, str(REPO / "tests" / "support" / "forkserved.py"), str(address)], process_group=0
    )  # a process group of its own, which a test's command may join
    wait_until(address.exists, "socket")
    yield process, address
    process.terminate()
    process.wait(timeout=10)


def command(address, *argv, variables=None, **popen) -> subprocess.Popen:
    env = {**os.environ, forkclient.ADDRESS: str(address), "OMP_NUM_THREADS": "1", **(variables or {})}
    return subprocess.Popen(
        [LAYERWISE, *argv], env=env, text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE, **popen
    )


def waiting_child(process: subprocess.Popen) -> int:
    """The pid of the child that runs `wait`, once it runs."""
    return json.loads(process.stdout.readline())["pid"]


def test_a_command_runs_in_a_child_of_the_server_with_its_streams_folder_environment_and_threads(server, tmp_path):
    process, address = server
    for threads, umask in (("1", 0o022), ("2", 0o027)):
        variables = {"FORKED_VARIABLE": "x", "OMP_NUM_THREADS": threads}
        run = command(address, "describe", "--flag", variables=variables, cwd=tmp_path, umask=umask)
        out, err = run.communicate(timeout=60)
        assert run.returncode == 0, err
        child = json.loads(out)
        assert child["parent"] == process.pid and child["pid"] != run.pid
        assert (child["cwd"], child["variable"], child["threads"]) == (str(tmp_path), "x", int(threads))
        assert child["umask"] == umask
        assert child["argv"] == ["layerwise", "describe", "--flag"]
        assert err == "on stderr\n"


@pytest.mark.parametrize(
    "argv, code, message", [(("exit", "3"), 3, ""), (("raise",), 1, "RuntimeError: raised in the child")]
)
def test_a_command_ends_with_its_childs_exit_code(server, argv, code, message):
    run = command(server[1], *argv)
    _, err = run.communicate(timeout=60)
    assert run.returncode == code
    assert message in err


def test_signals_to_a_command_reach_its_child_once(server):
    run = command(server[1], "wait")
    waiting_child(run)
    run.send_signal(signal.SIGTERM)
    assert run.wait(timeout=30) == 1

    run = command(server[1], "wait")
    waiting_child(run)
    run.send_signal(signal.SIGINT)  # KeyboardInterrupt in the child, which then dies of SIGINT, as Python does
    _, err = run.communicate(timeout=30)
    assert run.returncode == -signal.SIGINT
    assert err.rstrip().endswith("KeyboardInterrupt")


def test_a_signal_to_the_process_group_of_the_server_and_a_command_reaches_the_child_once(server):
    """As Ctrl-C does in a terminal: Snakemake, its jobs' commands and the server share a process group."""
    process, address = server
    run = command(address, "wait", process_group=process.pid)
    waiting_child(run)
    os.killpg(process.pid, signal.SIGTERM)  # the server stops listening, the child ends
    assert run.wait(timeout=30) == 1
    assert process.wait(timeout=10) == 0


def test_a_killed_command_takes_its_child_along(server):
    run = command(server[1], "wait")
    child = waiting_child(run)
    run.kill()
    run.wait(timeout=10)
    wait_until(lambda: not running(child), "end of the child", timeout=10)


def test_a_stopped_server_takes_no_new_command_and_ends_after_those_it_runs(server):
    process, address = server
    run = command(address, "wait")
    waiting_child(run)
    process.terminate()
    wait_until(lambda: not address.exists(), "removed socket", timeout=10)
    assert process.poll() is None  # it still runs a child
    run.send_signal(signal.SIGTERM)
    assert run.wait(timeout=30) == 1
    assert process.wait(timeout=10) == 0


def test_without_a_server_a_command_runs_cold(tmp_path):
    run = command(tmp_path / "no-server", "--help")
    out, err = run.communicate(timeout=60)
    assert run.returncode == 0, err
    assert out.startswith("usage: layerwise")


def test_a_server_refuses_a_command_of_another_python_which_then_runs_cold(server, monkeypatch):
    monkeypatch.setenv(forkclient.ADDRESS, str(server[1]))
    assert forkclient.delegate(["describe"]) is not None  # served
    monkeypatch.setattr(forkclient, "this_python", lambda: "another Python")
    assert forkclient.delegate(["describe"]) is None


def test_a_request_the_server_cannot_read_is_dropped_and_the_server_serves_on(server):
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as stranger:
        stranger.connect(str(server[1]))
        stranger.sendall(b"\x00\x00\x00\x05hello")  # no standard streams come with it
        assert stranger.recv(1) == b""  # closed, no child
    run = command(server[1], "exit", "3")
    assert run.wait(timeout=60) == 3


def test_a_child_that_fails_before_its_command_runs_ends_alone_and_the_server_serves_on(server, tmp_path):
    """Its error goes to the command's stderr, and the child never goes back to the server's loop."""
    request = {
        "argv": ["describe"], "cwd": str(tmp_path / "gone"), "env": {}, "umask": 0o022,
        "python": forkclient.this_python(),
    }  # fmt: skip
    body = json.dumps(request).encode()
    out, err = os.pipe(), os.pipe()
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as client, client.makefile("rb") as replies:
        client.connect(str(server[1]))
        socket.send_fds(client, [len(body).to_bytes(4, "big") + body], [0, out[1], err[1]])
        os.close(out[1]), os.close(err[1])
        pid = json.loads(replies.readline())["pid"]
        assert json.loads(replies.readline()) == {"exit": 1}
    assert "FileNotFoundError" in os.fdopen(err[0]).read() and os.fdopen(out[0]).read() == ""
    assert not running(pid)
    run = command(server[1], "exit", "3")
    assert run.wait(timeout=60) == 3


def test_a_command_hands_nothing_to_a_server_of_another_user_and_runs_cold(server, monkeypatch):
    monkeypatch.setenv(forkclient.ADDRESS, str(server[1]))
    monkeypatch.setattr(os, "getuid", lambda: os.geteuid() + 4242)  # the server now seems another user's
    assert forkclient.delegate(["describe"]) is None


def test_without_a_way_to_tell_who_connects_commands_run_cold_and_no_server_starts(server, monkeypatch, tmp_path):
    monkeypatch.setenv(forkclient.ADDRESS, str(server[1]))
    monkeypatch.delattr(socket, "SO_PEERCRED")
    assert forkclient.delegate(["describe"]) is None
    with pytest.raises(SystemExit, match="SO_PEERCRED"):
        forkserver.serve(str(tmp_path / "never"), command=print)
    assert not (tmp_path / "never").exists()


def test_a_silent_connection_holds_up_the_server_no_longer_than_a_request_may_take(server):
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as silent:
        silent.connect(str(server[1]))
        started = time.monotonic()
        run = command(server[1], "exit", "3")
        assert run.wait(timeout=60) == 3
        assert time.monotonic() - started < forkserver.REQUEST_SECONDS + 4  # was 10 s per silent connection


@pytest.fixture
def orphan():
    """A process that is no child of this one (its parent exited): one no command may signal."""
    pid = int(subprocess.run(["sh", "-c", "sleep 300 > /dev/null 2>&1 & echo $!"], capture_output=True).stdout)
    yield pid
    os.kill(pid, signal.SIGKILL)


def impostor(address: Path, replies: list[dict]):
    """A listener that takes one request and answers `replies`, a second one once `release` is set."""
    import threading

    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(address))
    listener.listen(1)
    release = threading.Event()

    def answer():
        connection, _ = listener.accept()
        with connection, listener:
            _, streams = forkserver.received(connection)  # the whole request, as a server reads it
            for fd in streams:
                os.close(fd)
            for position, reply in enumerate(replies):
                if position:
                    release.wait(60)
                connection.sendall(json.dumps(reply).encode() + b"\n")

    threading.Thread(target=answer, daemon=True).start()
    return release


@pytest.mark.parametrize("pid", [-1, 0, "1"])
def test_a_reply_without_a_real_child_pid_is_refused_and_the_command_runs_cold(tmp_path, pid):
    impostor(tmp_path / "socket", [{"pid": pid}])
    run = command(tmp_path / "socket", "--help")
    out, err = run.communicate(timeout=60)
    assert run.returncode == 0 and out.startswith("usage: layerwise"), err


def test_a_command_signals_only_a_child_of_the_server_it_checked(tmp_path, orphan):
    release = impostor(tmp_path / "socket", [{"pid": orphan}, {"exit": 0}])
    run = command(tmp_path / "socket", "describe")
    wait_until(lambda: handled(run.pid), "the command's signal handlers")
    run.send_signal(signal.SIGTERM)
    time.sleep(0.5)
    assert running(orphan)  # the pid the listener named was not signalled
    release.set()
    assert run.wait(timeout=60) == 0


def handled(pid: int) -> bool:
    """Whether a process has its own handler for SIGTERM (the command forwards signals once served)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("SigCgt:"):
            return bool(int(line.split()[1], 16) & (1 << (signal.SIGTERM - 1)))
    return False


SERVE_AFTER_NUMPY = (
    "import sys, numpy; from layerwise.command import forkserver; "
    "forkserver.preload = lambda: None; forkserver.serve(sys.argv[1], print)"
)


def test_a_server_whose_libraries_started_native_threads_refuses_to_serve(tmp_path):
    """numpy's BLAS starts a pool of native threads, which Python's threading module cannot see."""
    env = {name: value for name, value in os.environ.items() if name not in forkserver.ONE_THREAD}
    run = subprocess.run(
        [sys.executable, "-c", SERVE_AFTER_NUMPY, str(tmp_path / "socket")],
        env=env | {"OPENBLAS_NUM_THREADS": "2"}, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert run.returncode != 0 and "imports started threads" in run.stderr
    assert not (tmp_path / "socket").exists()


def test_a_server_started_with_its_libraries_on_one_thread_serves(tmp_path):
    process = subprocess.Popen(
        [sys.executable, "-c", SERVE_AFTER_NUMPY, str(tmp_path / "socket")], env=os.environ | forkserver.ONE_THREAD
    )
    try:
        wait_until(lambda: (tmp_path / "socket").exists() or process.poll() is not None, "socket")
        assert process.poll() is None
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_a_killed_server_takes_its_children_along_and_nothing_is_written_after_the_command_failed(server, tmp_path):
    """kill -9 of the server while a job runs: the command fails (Snakemake deletes the job's outputs),
    so its child must not live on to write a result file after that."""
    process, address = server
    result = tmp_path / "r0-1.json"
    run = command(address, "write-later", str(result), "3")
    child = waiting_child(run)
    process.kill()
    _, err = run.communicate(timeout=30)
    assert run.returncode == 1 and "the fork server ended before job" in err
    assert not running(child)  # gone by the time the command has ended
    time.sleep(4)
    assert not result.exists()


@pytest.mark.parametrize("reply", [None, b"garbage\n", b'["pid"]\n'], ids=["silent", "garbage", "not an object"])
def test_a_listener_that_never_answers_or_answers_garbage_costs_a_timeout_and_the_command_runs_cold(tmp_path, reply):
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(tmp_path / "socket"))
    listener.listen(1)

    def answer():
        connection, _ = listener.accept()
        _, streams = forkserver.received(connection)
        for fd in streams:
            os.close(fd)
        if reply is not None:
            connection.sendall(reply)
        time.sleep(60)

    import threading

    threading.Thread(target=answer, daemon=True).start()
    started = time.monotonic()
    run = command(tmp_path / "socket", "--help")
    out, err = run.communicate(timeout=60)
    assert run.returncode == 0 and out.startswith("usage: layerwise"), err
    assert time.monotonic() - started < forkclient.REPLY_SECONDS + 10
    listener.close()
