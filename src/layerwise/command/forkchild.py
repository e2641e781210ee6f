"""A fork server's child becoming a job's process: the job's streams, folder, environment, thread
counts and fresh random states in, the exit code (or signal) a cold process would have had out."""

import logging
import os
import signal
import sys
import traceback

from layerwise.command.forkclient import STREAMS


def run_as_child(command, request: dict, streams: list[int], server: int) -> int:
    """Becomes the command's process (streams, folder, environment, threads, fresh seeds) and runs
    it; the exit code a cold process would have had. Dies with the server (pid `server`)."""
    die_with(server)
    os.setpgid(0, 0)  # signals reach the child only through its command, once
    signal.signal(signal.SIGINT, signal.default_int_handler)
    for number in (signal.SIGTERM, signal.SIGCHLD):
        signal.signal(number, signal.SIG_DFL)
    os.umask(request["umask"])
    for fd, stream in zip(STREAMS, streams, strict=True):
        os.dup2(stream, fd)
        os.close(stream)
    try:
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        sys.argv = ["layerwise", *request["argv"]]
        as_if_started_cold()
        command(request["argv"])
        code = 0
    except SystemExit as exit:
        code = exit_code(exit.code)
    except KeyboardInterrupt:
        traceback.print_exc()
        code = -signal.SIGINT
    except BaseException:
        traceback.print_exc()
        code = 1
    as_if_exiting()
    sys.stdout.flush()
    sys.stderr.flush()
    if code < 0:  # as Python does on an unhandled KeyboardInterrupt
        signal.signal(-code, signal.SIG_DFL)
        os.kill(os.getpid(), -code)
    return code


def die_with(parent: int) -> None:
    """Killed when `parent` dies: a server killed (kill -9) fails its commands, whose jobs Snakemake then
    declares failed, and a child that lived on would write their outputs after that."""
    import ctypes

    PR_SET_PDEATHSIG = 1  # noqa: N806 - the name prctl(2) gives it
    if ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL) != 0:
        os._exit(1)  # the job fails rather than risk outliving its server
    if os.getppid() != parent:  # it died before the request took effect
        os._exit(1)


def as_if_started_cold() -> None:
    """What a cold process takes from its environment at start: thread counts (Snakemake sets them to
    the rule's threads) and unseeded random states."""
    import random

    import numpy
    import threadpoolctl
    import torch

    threads = os.environ.get("OMP_NUM_THREADS", "")
    if threads.isdigit() and int(threads) > 0:
        torch.set_num_threads(int(threads))
        threadpoolctl.threadpool_limits(int(threads), user_api="blas")
    random.seed()
    numpy.random.seed()


def as_if_exiting() -> None:
    """What a cold process's exit does for a job (the child ends with os._exit: the server's own exit
    handlers are not its to run): an MLflow run left active ends, the log handlers flush."""
    mlflow = sys.modules.get("mlflow")
    if mlflow is not None and mlflow.active_run() is not None:
        mlflow.end_run()
    logging.shutdown()


def exit_code(code) -> int:
    """The exit code of `sys.exit(code)`."""
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    print(code, file=sys.stderr)
    return 1
