"""Fork server: local jobs start from one process that has already imported torch, MLflow and matplotlib.

A cold `layerwise` job spends about 3 s importing before it does any work, and a run has some 25 jobs,
most of them in series. When the workflow runs its jobs on this machine (`fork_server: true`, the
default), it starts `layerwise fork-server` and names its socket in `LAYERWISE_FORK_SERVER`. A job's
`layerwise` command then sends its arguments, environment, working folder, umask and standard streams
to the server, which forks a child that runs the command as a cold process would (with the job's thread
count and unseeded random states). The command relays the signals it gets to the child and ends as the
child ends: same exit code, or killed by the same signal. A killed command takes its child along.

The command's side is forkclient.py, the child's forkchild.py; the workflow starts and stops the server with `start` and
`stop`. A fork copies only the forking thread, so the server starts with its native libraries on one
thread (BLAS, OpenMP, Arrow's jemalloc) and serves only while its process has no other thread (Python's
or a library's, as /proc/self/task lists them); a child sets the job's own thread counts. The server
serves processes of its own user only.
"""

import contextlib
import importlib
import json
import os
import pkgutil
import selectors
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from layerwise.command.forkchild import run_as_child
from layerwise.command.forkclient import STREAMS, peer, this_python

# What layerwise's own modules import only inside functions, and which a cold job pays at first use.
LAZY_IMPORTS = ("mlflow.store.tracking.sqlalchemy_store", "sklearn.decomposition")
# The server's native libraries start no thread pool of their own (the jobs' children set their threads).
ONE_THREAD = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
              "JE_ARROW_MALLOC_CONF": "background_thread:false"}  # fmt: skip


def start(log_path: Path) -> subprocess.Popen:
    """Starts `layerwise step fork-server` on a socket in a folder only this user reads, logging to
    `log_path`; the socket's path is `socket_of(server)`, for the jobs' `forkclient.ADDRESS`."""
    socket_path = Path(tempfile.mkdtemp(prefix="layerwise-")) / "socket"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("w") as output:
        command = ["layerwise", "step", "fork-server", "--socket", str(socket_path)]
        environment = {**os.environ, **ONE_THREAD}
        return subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=output, stderr=output, env=environment)


def socket_of(server: subprocess.Popen) -> str:
    return server.args[-1]


def stop(server: subprocess.Popen) -> None:
    """The server stops taking jobs at once, and ends when those it runs have ended."""
    server.terminate()
    with contextlib.suppress(subprocess.TimeoutExpired):
        server.wait(timeout=5)
    shutil.rmtree(Path(socket_of(server)).parent, ignore_errors=True)


def threads() -> list[str]:
    """The names of this process's threads, its native ones included."""
    return [Path(f"/proc/self/task/{task}/comm").read_text().strip() for task in os.listdir("/proc/self/task")]


# A command sends its request as soon as it connects: a connection silent for longer is dropped, so
# that it holds up the server's other commands no longer than this.
REQUEST_SECONDS = 1.0


def serve(address: str, command) -> None:
    """Imports what jobs use, then forks a child per request, which runs `command(argv)`, until the
    workflow ends (SIGTERM) or its process does; it waits for the children it has running before it
    exits."""
    if not hasattr(socket, "SO_PEERCRED"):
        raise SystemExit("fork server: this system cannot tell who connects (no SO_PEERCRED); jobs run cold")
    preload()
    import torch

    running = threads()
    if len(running) > 1:  # a fork copies only the forking thread: never fork with others
        raise SystemExit(f"fork server: imports started threads {running}; jobs run cold")
    if torch.cuda.is_initialized():  # a forked child could not use the GPU
        raise SystemExit("fork server: imports initialised CUDA; jobs run cold")
    Server(address, command).run()
    sys.stdout.flush()
    os._exit(0)  # tearing its imports down would keep the workflow's end waiting for seconds


def preload() -> None:
    """Every layerwise module, what they import at first use, and what torch's optimizer and schedule
    import at their first step."""
    import torch

    import layerwise

    for module in pkgutil.walk_packages(layerwise.__path__, prefix="layerwise."):
        if module.name != "layerwise.__main__":
            importlib.import_module(module.name)
    for name in LAZY_IMPORTS:
        importlib.import_module(name)
    model = torch.nn.Linear(1, 1)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda updates: 1.0)
    model(torch.zeros(1, 1)).sum().backward()
    optimizer.step()
    schedule.step()


class Server:
    """Forks a child per request that runs `command(argv)`."""

    def __init__(self, address: str, command):
        self.address, self.command, self.parent, self.stopping = address, command, os.getppid(), False
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.listener.bind(address)
        self.listener.listen(64)
        # A child's end and SIGTERM wake the loop at once (Python writes each signal to `wakeup`).
        self.wakeup, self.woken = socket.socketpair()
        self.woken.setblocking(False)
        signal.set_wakeup_fd(self.woken.fileno())
        signal.signal(signal.SIGCHLD, lambda *_: None)
        signal.signal(signal.SIGTERM, self.stop)
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the jobs through their commands
        self.selector = selectors.DefaultSelector()
        self.selector.register(self.listener, selectors.EVENT_READ)
        self.selector.register(self.wakeup, selectors.EVENT_READ)
        self.children = {}  # pid -> (connection to its command, argv, start time)
        log(f"serving on {address}")

    def stop(self, *_) -> None:
        self.stopping = True

    def run(self) -> None:
        while self.listener or self.children:
            for key, _ in self.selector.select(timeout=0.25):
                if key.fileobj is self.listener:
                    self.accept()
                elif key.fileobj is self.wakeup:
                    self.wakeup.recv(4096)
                elif not still_open(key.fileobj):  # its command was killed: so goes the child
                    self.selector.unregister(key.fileobj)
                    os.kill(key.data, signal.SIGKILL)
            self.reap()
            if self.listener and (self.stopping or os.getppid() != self.parent):
                self.selector.unregister(self.listener)
                self.listener.close()
                self.listener = None
                with contextlib.suppress(FileNotFoundError):  # the workflow may have removed its folder
                    os.unlink(self.address)
                log(f"stopped listening, {len(self.children)} jobs running")

    def accept(self) -> None:
        """Takes one command's request and forks its child. A request that fails is dropped, and its
        command, which then reads no child's pid, runs cold."""
        connection, _ = self.listener.accept()
        streams = []
        try:
            request, streams = received(connection)
            if request["python"] != this_python():
                raise ValueError(f"a command of another Python; this server runs {this_python()}")
            pid = self.fork(request, streams, connection)
        except (OSError, ValueError, KeyError) as error:
            log(f"dropped a request: {error!r}")
            connection.close()
            return
        finally:
            for fd in streams:
                os.close(fd)
        self.children[pid] = (connection, request["argv"], time.time())
        self.selector.register(connection, selectors.EVENT_READ, pid)
        with contextlib.suppress(OSError):  # a command killed meanwhile: the selector sees it gone
            connection.sendall(json.dumps({"pid": pid}).encode() + b"\n")

    def fork(self, request: dict, streams: list[int], connection) -> int:
        sys.stdout.flush()
        sys.stderr.flush()
        server = os.getpid()
        pid = os.fork()
        if pid == 0:  # the child keeps no connection of the server's, and never returns to its loop
            code = 1
            try:
                signal.set_wakeup_fd(-1)
                for other in (self.selector, self.listener, self.wakeup, self.woken, connection):
                    other.close()
                for other, _, _ in self.children.values():
                    other.close()
                code = run_as_child(self.command, request, streams, server)
            finally:
                os._exit(code)
        return pid

    def reap(self) -> None:
        """Tells each command whose child has ended how it ended."""
        for pid in list(self.children):
            done, status = os.waitpid(pid, os.WNOHANG)
            if not done:
                continue
            connection, argv, started = self.children.pop(pid)
            if connection.fileno() in self.selector.get_map():
                self.selector.unregister(connection)
            code = os.waitstatus_to_exitcode(status)
            with connection, contextlib.suppress(OSError):  # OSError: the command was killed
                connection.sendall(json.dumps({"exit": code}).encode() + b"\n")
            log(f"{pid} ended ({code}) after {time.time() - started:.1f} s: layerwise {' '.join(argv[:2])}")


def still_open(connection) -> bool:
    """Whether a command's connection is still open (a command sends nothing after its request)."""
    try:
        return bool(connection.recv(1))
    except OSError:
        return False


def received(connection) -> tuple[dict, list[int]]:
    """One framed request and the command's standard streams, from a process of this user only."""
    _, uid = peer(connection)
    if uid != os.getuid():
        raise ValueError(f"a request from user {uid}")
    connection.settimeout(REQUEST_SECONDS)
    data, streams, _, _ = socket.recv_fds(connection, 1 << 16, len(STREAMS))
    try:
        if len(streams) != len(STREAMS):
            raise ValueError("a request without its standard streams")
        while len(data) < 4 or len(data) < 4 + struct.unpack("!I", data[:4])[0]:
            more = connection.recv(1 << 16)
            if not more:
                raise ValueError("a request cut short")
            data += more
        connection.settimeout(None)
        return json.loads(data[4:]), streams
    except BaseException:
        for fd in streams:
            os.close(fd)
        raise


def log(line: str) -> None:
    print(f"{time.strftime('%H:%M:%S')} {line}", flush=True)
