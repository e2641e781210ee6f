"""The command's side of the fork server (forkserver.py): a `layerwise` command hands its job to a
child of the server, relays the signals it gets to it, and ends as it ends.

A job runs cold wherever the server cannot serve it: no server (cluster jobs, a server that ended),
another Python (a conda environment), or a system where a socket cannot tell who is at its other end
(no SO_PEERCRED): the command hands its environment and streams to a process of its own user only,
and signals only a pid that is a child of the server it checked.
"""

import json
import os
import signal
import socket
import struct
import sys

ADDRESS = "LAYERWISE_FORK_SERVER"  # the server's socket, set for the jobs by the workflow
FORWARDED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT, signal.SIGUSR1, signal.SIGUSR2)
STREAMS = (0, 1, 2)
# A server forks at once; a listener silent this long is not one, and the command runs cold (closing the
# connection, which ends a child forked meanwhile).
REPLY_SECONDS = 5.0


def this_python() -> str:
    """What a child must share with its command: the same interpreter and installed packages."""
    return f"{os.path.realpath(sys.executable)} {sys.prefix} {sys.version}"


def delegate(argv: list[str]) -> int | None:
    """Runs `layerwise argv` in a child of the fork server; its exit code (minus the signal that killed
    it), or None where no server serves this Python and the command must run here."""
    address = os.environ.get(ADDRESS)
    if not address or not hasattr(socket, "SO_PEERCRED"):
        return None
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        cwd = os.getcwd()
        server.connect(address)
        server_pid, server_uid = peer(server)
    except OSError:  # no server any more, or no working folder to hand over: run cold
        server.close()
        return None
    if server_uid != os.getuid():  # never hand this user's environment and streams to another's process
        print(f"layerwise: {address} is served by user {server_uid}; running cold", file=sys.stderr)
        server.close()
        return None
    umask = os.umask(0o077)  # to read it
    os.umask(umask)
    request = {"argv": argv, "cwd": cwd, "env": dict(os.environ), "umask": umask, "python": this_python()}
    signal.pthread_sigmask(signal.SIG_BLOCK, FORWARDED)  # until the child is there to forward them to
    with server, server.makefile("rb") as replies:
        body = json.dumps(request).encode()
        try:
            socket.send_fds(server, [struct.pack("!I", len(body))], [open_or_null(fd) for fd in STREAMS])
            server.sendall(body)
            server.settimeout(REPLY_SECONDS)
            started = json.loads(replies.readline() or b"{}")
            server.settimeout(None)
        except (OSError, ValueError):  # the server stopped listening meanwhile, never answered, or garbled
            started = {}
        child = started.get("pid") if isinstance(started, dict) else None
        if not isinstance(child, int) or child <= 0:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, FORWARDED)
            return None  # refused (another Python) or gone before it forked: run cold

        def forward(received, _):
            if parent_of(child) == server_pid:  # not a pid the server merely named, nor one reused since
                os.kill(child, received)

        handlers = {number: signal.signal(number, forward) for number in FORWARDED}
        signal.pthread_sigmask(signal.SIG_UNBLOCK, FORWARDED)
        try:
            ended = json.loads(replies.readline() or b"{}")
        except ValueError:
            ended = {}
        for number, handler in handlers.items():
            signal.signal(number, handler)
    if not isinstance(ended, dict) or not isinstance(ended.get("exit"), int):
        print(f"layerwise: the fork server ended before job {child} did", file=sys.stderr)
        wait_gone(child)  # killed with the server: the job fails only once it can write nothing more
        return 1
    return ended["exit"]


def wait_gone(pid: int, seconds: float = 10.0) -> None:
    """Until `pid` has ended (or `seconds` have passed)."""
    import time

    deadline = time.monotonic() + seconds
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.01)


def alive(pid: int) -> bool:
    """Running, not a zombie waiting to be reaped."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except (OSError, IndexError):
        return False


def peer(connection) -> tuple[int, int]:
    """(pid, uid) of the process at the other end of a Unix socket."""
    pid, uid, _ = struct.unpack(
        "3i", connection.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    )
    return pid, uid


def parent_of(pid: int) -> int | None:
    """The parent of a running process, or None when there is none."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return int(stat.read().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return None


def end_as(code: int) -> None:
    """Ends this process as the child ended: with its exit code, or killed by its signal."""
    if code < 0:
        if -code in FORWARDED:
            signal.signal(-code, signal.SIG_DFL)
        os.kill(os.getpid(), -code)
    sys.exit(code if code >= 0 else 128 - code)  # a signal whose default is not to end a process


def open_or_null(fd: int) -> int:
    """`fd`, or /dev/null where the job was started without it."""
    try:
        os.fstat(fd)
        return fd
    except OSError:
        return os.open(os.devnull, os.O_RDWR)
