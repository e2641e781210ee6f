"""Orchestration overhead: the wall time of a whole `snakemake` run against the time its trials trained.

Two configs search 2 layers of 32 trials each and 32 fine-tuning trials (`--trials`) on MNIST-1D, in 2
shards per stage (`--shards`), with `--cores 2`: `default` with the default config's search spaces (trials
of seconds to a minute), `tiny` with trials of a fraction of a second, where the fixed costs show most; `config` is
the default run itself (config/config.yaml as it is; `--shards` does not apply), `table` the default
config on a small table (scikit-learn's breast_cancer as a CSV file, 569 rows). Each trial
measures its own training time (`duration_s` in the trials table); everything else (Snakemake,
Python start-up and imports, data loading, parent features, selections, MLflow writes, the seed
study and the evaluation) is overhead.

    overhead = wall time x cores / sum of the trials' training time    (1.0: every core trains all along)

The seed study's members train too, but are not trials: a second figure counts their training time
(`duration_s` in their records) with the trials', a third takes the search alone, up to the fine-tuning
selection. The run is made twice, one after the other: with the jobs forked from the fork server
(`fork_server: true`, the default) and started cold.

    .venv/bin/python benchmarks/orchestration.py [--size default|tiny|config|table] [--cores 2] [--shards 2]
                                                 [--trials 32] [--epochs N] [--fork-server on|off|both] [--keep DIR]
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
import yaml

REPO = Path(__file__).resolve().parents[1]
TINY = {
    "preprocess": {"strategy": {"name": "grid"}, "space": {"pipeline": "standardize"}},
    "pretrain": {
        "space": {
            "algorithm": "denoising_autoencoder", "epochs": 5, "batch_size": 32,
            "hidden_units": {"type": "int", "low": 64, "high": 256, "log": True},
            "learning_rate": {"type": "float", "low": 0.003, "high": 0.1, "log": True},
            "corruption": {"type": "float", "low": 0.0, "high": 0.5},
        },
    },
    "finetune": {
        "patience": 5,
        "space": {
            "max_epochs": 20, "batch_size": 32,
            "learning_rate": {"type": "float", "low": 0.01, "high": 0.1, "log": True},
        },
    },
}  # fmt: skip


def search(trials: int) -> dict:
    """K = 1, so that layer 2 has `trials` trials too; fine-tuning: half on the kept stack, half without
    pretraining."""
    return {
        "pretrain": {"layers": 2, "top_k": 1, "trials_per_parent": trials},
        "finetune": {"trials_per_parent": trials // 2, "no_pretraining_arm": True},
        "evaluate": {"seeds": 2, "refit_on_train_valid": False},
    }


def capped(config: dict, epochs: int) -> dict:
    """`config` with every trial's epochs at most `epochs` (a layer's `epochs`, fine-tuning's `max_epochs`)."""
    spaces = {"pretrain": "epochs", "finetune": "max_epochs"}
    return merged(config, {
        stage: {"space": {**config[stage]["space"], key: min(config[stage]["space"][key], epochs)}}
        for stage, key in spaces.items()
    })  # fmt: skip


def merged(base: dict, changes: dict) -> dict:
    """`base` with `changes` merged in; a search space or strategy is replaced whole."""
    out = dict(base)
    for key, value in changes.items():
        nested = isinstance(value, dict) and key not in ("space", "strategy")
        out[key] = merged(base.get(key, {}), value) if nested else value
    return out


def benchmark_config(size: str, shards: int, trials: int, fork_server: bool, folder: Path) -> dict:
    base = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    if size == "config":  # the default run itself
        return merged(base, {"fork_server": fork_server, "experiment": "orchestration-config"})
    if size == "table":  # the default config on a small table: breast_cancer as a user's CSV file
        from tabular import write_csv

        folder.mkdir(parents=True, exist_ok=True)
        data = {"source": "file", "path": str(write_csv("breast_cancer", folder)), "label_column": "label"}
        return merged(base, {"fork_server": fork_server, "experiment": "orchestration-table", "data": data})
    if size == "tiny":
        base = merged(base, TINY)
    sharded = {stage: {"shards": shards} for stage in ("pretrain", "finetune")}
    experiment = f"orchestration-{size}-{shards}"
    return merged(merged(base, search(trials)), {**sharded, "fork_server": fork_server, "experiment": experiment})


def timed_snakemake(folder: Path, config: dict, cores: int) -> tuple[float, float]:
    """Runs the workflow on `config` in `folder` to the end; its start (epoch seconds) and wall time."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.yaml").write_text(yaml.safe_dump(config))
    bin_dir = Path(sys.executable).parent
    command = [
        str(bin_dir / "snakemake"), "--snakefile", str(REPO / "Snakefile"), "--directory", str(folder),
        "--configfile", str(folder / "config.yaml"), "--cores", str(cores), "--quiet",
    ]  # fmt: skip
    started, clock = time.time(), time.perf_counter()
    env = {"PATH": f"{bin_dir}:/usr/bin:/bin", "HOME": str(Path.home())}
    if "PYTHONPATH" in os.environ:  # a benchmark of another checkout (PYTHONPATH=its src) with this venv
        env["PYTHONPATH"] = os.environ["PYTHONPATH"]
    subprocess.run(command, check=True, env=env)
    return started, time.perf_counter() - clock


def measured(folder: Path, config: dict, cores: int) -> dict:
    """One run's wall time, its trials' and its seed study's training times, and the overheads."""
    started, wall = timed_snakemake(folder, config, cores)
    results = folder / "results" / config["experiment"]
    search = (results / "finetune" / "selected.json").stat().st_mtime - started  # to the fine-tuning selection
    trials = pd.read_csv(results / "trials.csv")
    per_stage = trials.groupby("stage", sort=False).agg(trials=("trial_id", "size"), training_s=("duration_s", "sum"))
    print(per_stage.to_string(), flush=True)
    training = trials.duration_s.sum()
    seed_study = sum(json.loads(path.read_text())["duration_s"] for path in (results / "seed_study").glob("*.json"))
    return {
        "trials": len(trials), "training": training, "seed_study": seed_study, "wall": wall,
        "overhead": wall * cores / training, "overhead_all": wall * cores / (training + seed_study),
        "overhead_search": search * cores / training,
    }  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", choices=("default", "tiny", "config", "table"), default="default")
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--shards", type=int, default=2, help="shards per layer and for fine-tuning")
    parser.add_argument("--trials", type=int, default=32, help="per layer and for fine-tuning (sizes default, tiny)")
    parser.add_argument("--epochs", type=int, help="at most this many epochs per trial (default: the size's)")
    parser.add_argument("--fork-server", choices=("on", "off", "both"), default="both")
    parser.add_argument("--keep", help="run in this folder and keep it (default: a temporary one)")
    args = parser.parse_args()
    folder = Path(args.keep or tempfile.mkdtemp(prefix="layerwise-orchestration-"))
    modes = {"on": [True], "off": [False], "both": [True, False]}[args.fork_server]
    rows = []
    for fork_server in modes:
        run_folder = folder / ("warm" if fork_server else "cold")
        config = benchmark_config(args.size, args.shards, args.trials, fork_server, run_folder)
        config = capped(config, args.epochs) if args.epochs else config
        row = measured(run_folder, config, args.cores)
        rows.append({"jobs": "forked" if fork_server else "cold", **row})
        print(f"{row['trials']} trials trained {row['training']:.1f} s (the seed study {row['seed_study']:.1f} s); "
              f"the run took {row['wall']:.1f} s on {args.cores} cores", flush=True)  # fmt: skip
    columns = ("size", "shards", "jobs", "trials", "their training", "seed study", "wall", "overhead",
               "with the seed study", "search")  # fmt: skip
    print(f"\n| {' | '.join(columns)} |\n|{'---|' * len(columns)}")
    for row in rows:
        print(
            f"| {args.size} | {args.shards} | {row['jobs']} | {row['trials']} | {row['training']:.0f} s | "
            f"{row['seed_study']:.0f} s | {row['wall']:.0f} s | **{row['overhead']:.2f}** | "
            f"{row['overhead_all']:.2f} | {row['overhead_search']:.2f} |"
        )


if __name__ == "__main__":
    main()
