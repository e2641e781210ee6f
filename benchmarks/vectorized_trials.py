"""Trials trained together in packs (packs.py) against the same trials one at a time, in one process.

On MNIST-1D (standardized; 3200 training / 800 validation rows), 64 trials drawn at random of
- `--stage layer1`: denoising auto-encoders of 256 tanh units, batch size 32, 10 epochs;
  `learning_rate`, `momentum`, `l2` and `corruption` searched;
- `--stage finetune`: the fine-tuning search of `strategies.py` and `peers.py` (a 256-unit relu
  network from random weights, batch size 64, up to 40 epochs with early stopping);
  `learning_rate`, `l2_output` and `dropout` searched.
The same stage runs through the shard's own loop (`shard.run_shard`, tracking off) with `pack_size`
1 (one trial at a time) and with larger packs; the figures are trials per CPU-minute (this process's
CPU time, every thread counted) and the largest relative difference of any trial's metrics and
every epoch's curves from its one-at-a-time result.

    .venv/bin/python benchmarks/vectorized_trials.py [--stage layer1|finetune] [--trials 64] [--packs 16 64] [--tiny]
"""

import argparse
import contextlib
import io
import json
import tempfile
import time
from pathlib import Path

from strategies import SEARCHES, prepare, shrunk

from layerwise.stagespec import StageSpec, from_dict
from layerwise.steps.shard import run_shard

SPACE = {
    "algorithm": "denoising_autoencoder",
    "hidden_units": 256,
    "activation": "tanh",
    "batch_size": 32,
    "epochs": 10,
    "learning_rate": {"type": "float", "low": 0.001, "high": 0.1, "log": True},
    "momentum": {"type": "float", "low": 0.5, "high": 0.95},
    "l2": {"type": "float", "low": 0.001, "high": 1.0, "log": True},
    "corruption": {"type": "float", "low": 0.0, "high": 0.5},
}


def stage_spec(stage: str, trials: int, pack_size: int, tiny: bool) -> StageSpec:
    space = SEARCHES["finetune"]["space"] if stage == "finetune" else SPACE
    space = shrunk(space) if tiny else space
    if stage == "finetune":  # the no-pretraining arm only, shaped like strategies.py's one-layer stack
        return from_dict({
            "stage": "finetune", "kind": "finetune", "config_key": "finetune", "seed": 0,
            "strategy": {"name": "random"}, "parents": 0, "has_parent_stacks": True, "no_pretraining_arm": True,
            "trials_per_parent": trials, "top_k": 1, "shards": 1, "pack_size": pack_size,
            "space": space, "patience": 10, "checkpoint_after_s": None,
        })  # fmt: skip
    return from_dict({
        "stage": "layer1", "kind": "pretrain", "config_key": "pretrain", "seed": 0, "strategy": {"name": "random"},
        "parents": 1, "has_parent_stacks": False, "trials_per_parent": trials, "top_k": 1, "shards": 1,
        "pack_size": pack_size, "space": space, "readout": "ridge", "readout_ridge": 1e-3, "tie_hidden_units": False,
        "distinct_parents": True,
    })  # fmt: skip


def run_stage(
    folder: Path, stage: str, trials: int, pack_size: int, threads: int, tiny: bool
) -> tuple[list[dict], float]:
    """The stage's records in index order, and the CPU seconds the shard took."""
    out = folder / f"{stage}-packs-of-{pack_size}"
    parents = str(folder / "parents.json") if stage == "finetune" else None
    started = time.process_time()
    with contextlib.redirect_stdout(io.StringIO()):
        run_shard(
            stage_spec(stage, trials, pack_size, tiny), 0, 0, str(folder / "train.npz"), str(folder / "valid.npz"),
            parents, [], str(folder / "tracking.json"), str(out / "records.json"), str(out / "weights"), threads,
        )  # fmt: skip
    seconds = time.process_time() - started
    return sorted(json.loads((out / "records.json").read_text())["records"], key=lambda r: r["index"]), seconds


def numbers(record: dict) -> list[float]:
    return [*record["metrics"].values(), *(value for curve in record["curves"].values() for value in curve)]


def relative(value: float, expected: float) -> float:
    return abs(value - expected) / max(abs(expected), 1e-12)


def compared(records: list[dict], reference: list[dict]) -> tuple[int, float, float]:
    """(trials whose every metric and epoch lies within 1e-4 relative of the trial alone, the largest
    relative difference of a final metric, the mean objective)."""
    within, worst = 0, 0.0
    for record, alone in zip(records, reference, strict=True):
        assert record["trial_id"] == alone["trial_id"] and record["status"] == alone["status"] == "FINISHED"
        worst = max(worst, *(relative(record["metrics"][key], value) for key, value in alone["metrics"].items()))
        mine, theirs = numbers(record), numbers(alone)
        within += len(mine) == len(theirs) and all(relative(a, b) <= 1e-4 for a, b in zip(mine, theirs, strict=True))
    return within, worst, sum(record["objective"] for record in records) / len(records)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stage", choices=("layer1", "finetune"), default="layer1")
    parser.add_argument("--trials", type=int, default=64)
    parser.add_argument("--packs", type=int, nargs="+", default=[16, 64], help="pack sizes to compare with 1")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--tiny", action="store_true", help="a few hundred rows, 2 epochs per trial (the tests')")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        folder = Path(directory)
        prepare(folder, args.tiny)
        alone, alone_seconds = run_stage(folder, args.stage, args.trials, 1, args.threads, args.tiny)
        mean = sum(record["objective"] for record in alone) / len(alone)
        print("| pack size | CPU s | trials per CPU-minute | speed-up | trials within 1e-4 of alone | largest relative"
              " difference of a final metric | mean objective |")  # fmt: skip
        print("|---|---|---|---|---|---|---|")
        print(f"| 1 | {alone_seconds:.1f} | {args.trials * 60 / alone_seconds:.1f} | 1.00 | — | — | {mean:.4f} |")
        for pack_size in args.packs:
            records, seconds = run_stage(folder, args.stage, args.trials, pack_size, args.threads, args.tiny)
            within, worst, mean = compared(records, alone)
            rate = args.trials * 60 / seconds
            print(
                f"| {pack_size} | {seconds:.1f} | {rate:.1f} | {alone_seconds / seconds:.2f} | {within}/{len(alone)} "
                f"| {worst:.1e} | {mean:.4f} |"
            )


if __name__ == "__main__":
    main()
