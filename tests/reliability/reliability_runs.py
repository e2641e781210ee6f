"""A small config whose fine-tuning trials last seconds (time to interrupt one), and what the
reliability tests do with runs of it: wait for a line, find a shard's process."""

import json
import time
from pathlib import Path

from layerwise.command.cli import parser

RELIABILITY = {
    "experiment": "reliability",
    "seed": 0,
    "data": {"source": "mnist1d"},
    "preprocess": {"strategy": {"name": "grid"}, "space": {"pipeline": "standardize"}},
    "pretrain": {
        "layers": 1, "top_k": 1, "trials_per_parent": 2, "shards": 1,
        "space": {
            "algorithm": "denoising_autoencoder", "hidden_units": 32, "epochs": 2, "batch_size": 64,
            "learning_rate": {"type": "float", "low": 0.003, "high": 0.1, "log": True},
        },
    },
    "finetune": {
        "trials_per_parent": 2, "shards": 2, "patience": 80,
        "space": {
            "max_epochs": 80, "batch_size": 64,
            "learning_rate": {"type": "float", "low": 0.01, "high": 0.1, "log": True},
        },
    },
    "evaluate": {"seeds": 1, "refit_on_train_valid": False},
}  # fmt: skip


def reliability_config(**changes) -> dict:
    return {**json.loads(json.dumps(RELIABILITY)), **changes}


SHARDS = 8


def eight_shard_config(experiment: str) -> dict:
    """Eight shards per stage of short trials: many jobs writing to the tracking store at once."""
    pretrain = {**RELIABILITY["pretrain"], "shards": SHARDS, "trials_per_parent": SHARDS}
    finetune = {**RELIABILITY["finetune"], "shards": SHARDS, "trials_per_parent": SHARDS, "patience": 3}
    finetune["space"] = {**finetune["space"], "max_epochs": 3}
    return reliability_config(experiment=experiment, pretrain=pretrain, finetune=finetune)


def wait_for(condition, timeout: float = 600, what: str = "a condition") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


def wait_for_line(path: Path, text: str, timeout: float = 600) -> None:
    wait_for(lambda: path.exists() and text in path.read_text(), timeout, f"{text!r} in {path}")


def shard_process(stage: str, shard: int, workdir: Path) -> int:
    """The process id of the running `layerwise shard` job of a stage's shard in the run of `workdir`
    (a job works there): another workflow on the machine may run the same shard."""
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            words = cmdline.read_bytes().decode().split("\0")[:-1]  # each word ends with a NUL
            in_run = (cmdline.parent / "cwd").resolve() == workdir.resolve()
        except OSError:  # the process ended meanwhile
            continue
        if in_run and "step" in words and words[words.index("step") + 1 :][:1] == ["shard"]:
            job = parser().parse_args(words[words.index("step") :])
            if json.loads((workdir / job.spec).read_text())["stage"] == stage and job.shard == shard:
                return int(cmdline.parent.name)
    raise AssertionError(f"no running shard {shard} of {stage}")
