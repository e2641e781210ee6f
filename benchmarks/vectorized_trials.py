"""Trials trained together in packs (batched.py) against the same trials one at a time, in one process.

A first-layer search on MNIST-1D (standardized; 3200 training / 800 validation rows) of 64
denoising auto-encoder trials, drawn at random: `learning_rate`, `momentum`, `l2` and `corruption`
searched, 256 tanh units, batch size 32, 10 epochs. The same stage runs through the shard's own loop
(`shard.run_shard`, tracking off) with `pack_size` 1 (one trial at a time) and with larger packs; the
figures are trials per CPU-minute (this process's CPU time, every thread counted) and the largest
relative difference of any trial's metrics (read-out error, reconstruction errors, every epoch's
losses) from its one-at-a-time result.

    .venv/bin/python benchmarks/vectorized_trials.py [--trials 64] [--packs 16 64] [--threads 2]
"""

import argparse
import contextlib
import io
import json
import tempfile
import time
from pathlib import Path

from strategies import prepare

from layerwise.files import write_json
from layerwise.shard import run_shard

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


def stage_spec(trials: int, pack_size: int) -> dict:
    return {
        "stage": "layer1", "kind": "pretrain", "config_key": "pretrain", "seed": 0, "strategy": {"name": "random"},
        "parents": 1, "has_parent_stacks": False, "trials_per_parent": trials, "top_k": 1, "shards": 1,
        "pack_size": pack_size, "space": SPACE, "readout_ridge": 1e-3, "tie_hidden_units": False,
    }  # fmt: skip


def run_stage(folder: Path, trials: int, pack_size: int, threads: int) -> tuple[list[dict], float]:
    """The stage's records in index order, and the CPU seconds the shard took."""
    out = folder / f"packs-of-{pack_size}"
    started = time.process_time()
    with contextlib.redirect_stdout(io.StringIO()):
        run_shard(
            stage_spec(trials, pack_size), 0, 0, str(folder / "train.npz"), str(folder / "valid.npz"), None, [],
            str(folder / "tracking.json"), str(out / "records.json"), str(out / "weights"), threads,
        )  # fmt: skip
    seconds = time.process_time() - started
    return json.loads((out / "records.json").read_text())["records"], seconds


def numbers(record: dict) -> list[float]:
    return [*record["metrics"].values(), *(value for curve in record["curves"].values() for value in curve)]


def largest_difference(records: list[dict], reference: list[dict]) -> float:
    worst = 0.0
    for record, alone in zip(records, reference, strict=True):
        assert record["trial_id"] == alone["trial_id"] and record["status"] == alone["status"] == "FINISHED"
        for value, expected in zip(numbers(record), numbers(alone), strict=True):
            worst = max(worst, abs(value - expected) / max(abs(expected), 1e-12))
    return worst


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=64)
    parser.add_argument("--packs", type=int, nargs="+", default=[16, 64], help="pack sizes to compare with 1")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        folder = Path(directory)
        prepare(folder)
        write_json(str(folder / "tracking.json"), {"enabled": False})
        alone, alone_seconds = run_stage(folder, args.trials, 1, args.threads)
        print("| pack size | CPU s | trials per CPU-minute | speed-up | largest relative difference |")
        print("|---|---|---|---|---|")
        print(f"| 1 | {alone_seconds:.1f} | {args.trials * 60 / alone_seconds:.1f} | 1.00 | — |")
        for pack_size in args.packs:
            records, seconds = run_stage(folder, args.trials, pack_size, args.threads)
            difference = largest_difference(records, alone)
            rate = args.trials * 60 / seconds
            print(f"| {pack_size} | {seconds:.1f} | {rate:.1f} | {alone_seconds / seconds:.2f} | {difference:.1e} |")


if __name__ == "__main__":
    main()
