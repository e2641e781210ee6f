"""How a run grows: wall time against layers, K and trials, and a shard's peak memory at MNIST size.

`time`: whole `snakemake` runs (`--cores 2`) of tiny trials at three sizes of (layers L, K, trials
per parent T), 2 shards per stage; the wall time against the number of trials (L·K·T grows it) and
against the number of jobs, with a straight line fitted through the three points. Output:
`figures/scale.csv` and `figures/scale.png`.

`memory`: one layer-2 shard (`shard.run_shard`, tracking off) on a synthetic data set of 60,000 × 784
(MNIST's size, float32) with K = 2 random parent stacks of 784 → 256 and 2 short trials on each;
its peak resident memory against what it must hold (the data once, and each parent's features).

    .venv/bin/python benchmarks/scale.py time [--sizes 1,1,8 2,2,8 3,2,16] [--cores 2] [--epochs N] [--out DIR]
    .venv/bin/python benchmarks/scale.py memory [--rows 60000] [--inputs 784] [--hidden 256]
"""

import argparse
import json
import resource
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import yaml
from orchestration import REPO, TINY, capped, merged, timed_snakemake

from layerwise.selections import Kept, Selection, write_selection
from layerwise.stagespec import from_dict

MIB = 2**20


def size_config(layers: int, top_k: int, trials: int) -> dict:
    base = merged(yaml.safe_load((REPO / "config" / "config.yaml").read_text()), TINY)
    tiny_layers = {"epochs": 2, "hidden_units": {"type": "int", "low": 32, "high": 64, "log": True}}
    return merged(
        base,
        {
            "experiment": f"scale-{layers}-{top_k}-{trials}",
            "pretrain": {
                "layers": layers, "top_k": top_k, "trials_per_parent": trials, "shards": 2,
                "space": {**base["pretrain"]["space"], **tiny_layers},
            },
            "finetune": {"trials_per_parent": trials // 2, "shards": 2, "no_pretraining_arm": False},
            "evaluate": {"seeds": 1, "refit_on_train_valid": False},
        },
    )  # fmt: skip


def timed_run(layers: int, top_k: int, trials: int, cores: int, epochs: int | None, folder: Path) -> dict:
    config = size_config(layers, top_k, trials)
    config = capped(config, epochs) if epochs else config
    workdir = folder / config["experiment"]
    _, wall = timed_snakemake(workdir, config, cores)
    table = pd.read_csv(workdir / "results" / config["experiment"] / "trials.csv")
    logs = (workdir / "results" / config["experiment"] / "logs").rglob("*.log")
    jobs = sum(log.name != "fork_server.log" for log in logs)  # one log per job
    return {
        "L": layers, "K": top_k, "T": trials, "trials": len(table), "jobs": jobs,
        "training_s": round(table.duration_s.sum(), 1), "wall_s": round(wall, 1),
    }  # fmt: skip


def scale_in_time(args) -> None:
    with tempfile.TemporaryDirectory(prefix="layerwise-scale-") as folder:
        rows = [timed_run(*map(int, size.split(",")), args.cores, args.epochs, Path(folder)) for size in args.sizes]
    table = pd.DataFrame(rows)
    slope, intercept = np.polyfit(table.trials, table.wall_s, 1)
    table["fitted_wall_s"] = (intercept + slope * table.trials).round(1)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    table.to_csv(out / "scale.csv", index=False)
    print(table.to_markdown(index=False))
    print(f"\nwall time ≈ {intercept:.1f} s + {slope:.2f} s per trial")
    plot(table, slope, intercept, out / "scale.png")


def plot(table: pd.DataFrame, slope: float, intercept: float, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(5, 3.5))
    axis.plot(table.trials, table.wall_s, "o", label="snakemake run")
    span = np.linspace(0, table.trials.max() * 1.05, 50)
    axis.plot(span, intercept + slope * span, "--", label=f"{intercept:.0f} s + {slope:.2f} s/trial")
    for row in table.itertuples():
        axis.annotate(f"L={row.L} K={row.K} T={row.T}", (row.trials, row.wall_s), fontsize=8, xytext=(4, -10),
                      textcoords="offset points")  # fmt: skip
    axis.set(xlabel="trials in the run", ylabel="wall time (s)", title="Wall time against the run's size")
    axis.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=120)


def resident_mib() -> float:
    """Peak resident memory of this process so far (ru_maxrss is in KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def memory_child(folder: Path, hidden: int) -> None:
    """Runs in a process of its own: one layer-2 shard, then its peak memory as JSON on stdout."""
    import torch

    from layerwise.steps.shard import run_shard

    before = resident_mib()
    spec = from_dict({
        "stage": "layer2", "kind": "pretrain", "config_key": "pretrain", "seed": 0, "strategy": {"name": "random"},
        "parents": 2, "has_parent_stacks": True, "trials_per_parent": 2, "top_k": 2, "shards": 1, "pack_size": 1,
        "readout": "ridge", "readout_ridge": 1e-3, "tie_hidden_units": False, "distinct_parents": True,
        "space": {"algorithm": "denoising_autoencoder", "hidden_units": hidden, "epochs": 1, "batch_size": 128,
                  "activation": "sigmoid"},
    })  # fmt: skip
    del torch
    run_shard(
        spec, 0, 0, str(folder / "train.npz"), str(folder / "valid.npz"), str(folder / "parents.json"), [],
        str(folder / "tracking.json"), str(folder / "records.json"), str(folder / "weights"), 2,
    )  # fmt: skip
    print(json.dumps({"after_imports_mib": before, "peak_mib": resident_mib()}))


def scale_in_memory(args) -> None:
    import torch

    from layerwise.data.sets import Split, save_split
    from layerwise.files import write_json
    from layerwise.learn import stack as stacks

    with tempfile.TemporaryDirectory(prefix="layerwise-memory-") as scratch:
        folder = Path(scratch)
        generator = np.random.default_rng(0)
        valid_rows = args.rows // 6
        for name, rows in (("train", args.rows), ("valid", valid_rows)):
            x = generator.random((rows, args.inputs), dtype=np.float32)
            save_split(Split(x, generator.integers(0, 10, rows)), str(folder / f"{name}.npz"))
        entries = []
        for rank in range(2):
            torch.manual_seed(rank)
            layer = torch.nn.Linear(args.inputs, args.hidden)
            stack = {"layers": [{**stacks.layer_of(layer, "sigmoid"), "trial_id": f"parent{rank}"}]}
            stacks.save(stack, str(folder / f"parent{rank}.pt"))
            entries.append(Kept(rank, f"parent{rank}", str(folder / f"parent{rank}.pt")))
        write_selection(str(folder / "parents.json"), Selection("layer1", entries=tuple(entries)))
        write_json(str(folder / "tracking.json"), {"enabled": False})
        child = subprocess.run(
            [sys.executable, __file__, "memory-child", str(folder), str(args.hidden)], capture_output=True, text=True
        )
        if child.returncode != 0:
            sys.exit(child.stderr)
        figures = json.loads(child.stdout.strip().splitlines()[-1])
    data = (args.rows + valid_rows) * args.inputs * 4 / MIB
    features = 2 * (args.rows + valid_rows) * args.hidden * 4 / MIB
    held = figures["peak_mib"] - figures["after_imports_mib"]
    print(f"data {args.rows} + {valid_rows} rows × {args.inputs} float32: {data:.0f} MiB")
    print(f"features of 2 parents × {args.hidden} units: {features:.0f} MiB")
    print(f"resident after imports: {figures['after_imports_mib']:.0f} MiB; peak: {figures['peak_mib']:.0f} MiB")
    print(f"peak above the imports: {held:.0f} MiB = {held / (data + features):.2f} × (data + parents' features)")


def main() -> None:
    if sys.argv[1:2] == ["memory-child"]:
        return memory_child(Path(sys.argv[2]), int(sys.argv[3]))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parts = parser.add_subparsers(dest="part", required=True)
    timing = parts.add_parser("time")
    timing.add_argument("--sizes", nargs="+", default=["1,1,8", "2,2,8", "3,2,16"], help="L,K,T of each run")
    timing.add_argument("--cores", type=int, default=2)
    timing.add_argument("--epochs", type=int, help="at most this many epochs per trial (default: 2, fine-tuning 20)")
    timing.add_argument("--out", default=str(REPO / "benchmarks" / "figures"))
    memory = parts.add_parser("memory")
    memory.add_argument("--rows", type=int, default=60000)
    memory.add_argument("--inputs", type=int, default=784)
    memory.add_argument("--hidden", type=int, default=256)
    args = parser.parse_args()
    scale_in_time(args) if args.part == "time" else scale_in_memory(args)


if __name__ == "__main__":
    main()
