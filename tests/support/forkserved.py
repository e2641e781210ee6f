"""A fork server whose children run the test commands below instead of layerwise's: started by
tests/unit/test_forkserver.py as `python forkserved.py SOCKET`."""

import json
import os
import signal
import sys
import time
from pathlib import Path

import torch

from layerwise.command.forkserver import Server


def command(argv: list[str]) -> None:
    what, *rest = argv
    if what == "describe":  # the process it runs in
        print(json.dumps({
            "cwd": os.getcwd(), "variable": os.environ.get("FORKED_VARIABLE"), "pid": os.getpid(),
            "parent": os.getppid(), "threads": torch.get_num_threads(), "argv": sys.argv, "umask": os.umask(0),
        }))  # fmt: skip
        print("on stderr", file=sys.stderr)
    elif what == "exit":
        sys.exit(int(rest[0]))
    elif what == "raise":
        raise RuntimeError("raised in the child")
    elif what == "write-later":  # a shard's result file, written after its training
        print(json.dumps({"pid": os.getpid()}), flush=True)
        time.sleep(float(rest[1]))
        Path(rest[0]).write_text("written")
    elif what == "wait":  # for a signal: SIGTERM ends it, a second later, with the count of those it got
        received = []
        signal.signal(signal.SIGTERM, lambda *_: received.append(True))
        print(json.dumps({"pid": os.getpid()}), flush=True)
        while not received:
            time.sleep(0.01)
        time.sleep(1)
        sys.exit(len(received))


if __name__ == "__main__":
    Server(sys.argv[1], command).run()
