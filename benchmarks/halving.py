"""Successive halving and Hyperband against the same strategy without them, at equal CPU-seconds, on
MNIST-1D fine-tuning.

Each arm searches the default config's fine-tuning space (config/config.yaml: width, depth, learning
rate, three L2 coefficients, dropout; up to 150 epochs, patience 20) for the no-pretraining network,
with TPE (4 random proposals first), through the pipeline's own shard code (packs of 4, continuation
from saved states) in one process, without Snakemake or MLflow, until it has spent `--budget`
CPU-seconds. Arms:
- tpe: rounds of 4 trials, each trained to its early stopping or max_epochs;
- halving: brackets of 9 proposals, 3 rungs, eta 3 (17, 50, 150 epochs);
- halving2: brackets of 9 proposals, 2 rungs, eta 3 (50, 150 epochs);
- hyperband: Li et al.'s brackets (9 at 17 epochs, 5 at 50, 3 at 150), cycled.
A search's best is its lowest validation error among trials that trained their full budget (what the
stage's selection picks from). Each (arm, seed) runs in its own process, two at a time, so CPU time is
the process's own. Output, named by --name: <name>.csv (per round: CPU-seconds so far, best so far),
<name>.md (best at the budget per arm and seed) and <name>.png (best so far against CPU-seconds).

    .venv/bin/python benchmarks/halving.py [--seeds 3] [--budget 600] [--arms tpe halving ...]
        [--patience 0] [--name halving] [--tiny] [--out benchmarks/figures]
"""

import argparse
import multiprocessing
import platform
import tempfile
import time
from pathlib import Path

import matplotlib
import pandas as pd
import yaml
from strategies import save_splits

from layerwise.records import read_shards
from layerwise.search.halving import Halving, settle
from layerwise.seeding import configure_torch
from layerwise.stagespec import StageSpec, from_dict
from layerwise.steps.selection import halving_summary
from layerwise.steps.shard import run_shard

matplotlib.use("Agg")
from matplotlib import pyplot as plt  # noqa: E402

ARMS = {
    "tpe": ({"rungs": 1}, 4),
    "halving": ({"rungs": 3, "eta": 3}, 9),
    "halving2": ({"rungs": 2, "eta": 3}, 9),
    "hyperband": ({"rungs": 3, "eta": 3, "hyperband": True}, 9),
}  # (halving settings, trials_per_parent)
# --tiny: at most 9 epochs per trial, the fewest that give 3 rungs of distinct budgets at eta 3 (1, 3, 9)
TINY_MAX_EPOCHS = 9


def stage_spec(arm: str, seed: int, patience: int | None, tiny: bool) -> StageSpec:
    """`patience`: the config's unless given (0: no early stopping, every trial trains its budget)."""
    default = yaml.safe_load(Path("config/config.yaml").read_text())["finetune"]
    halving, per_arm = ARMS[arm]
    space = {**default["space"], "max_epochs": TINY_MAX_EPOCHS} if tiny else default["space"]
    return from_dict({
        "stage": "finetune", "kind": "finetune", "config_key": "finetune", "seed": seed,
        "strategy": {"name": "tpe", "startup_trials": 4}, "parents": 0, "has_parent_stacks": True,
        "no_pretraining_arm": True, "trials_per_parent": per_arm, "shards": 1, "pack_size": 4,
        "space": space, "patience": default["patience"] if patience is None else patience,
        "checkpoint_after_s": None,
        "halving": {"rungs": 1, "eta": 3, "hyperband": False, **halving},
    })  # fmt: skip


def best_finished(trials: list[dict], halving: Halving) -> float:
    """The lowest validation error of a trial (`halving.settle`'s records) that trained its full budget
    (its bracket's last rung)."""
    done = [r.objective for r in trials if r.finished and (not r.halving or halving.rung(r.round).last)]
    return min(done) if done else float("nan")


def search(task: tuple) -> list[dict]:
    """One arm and seed, round after round until the budget is spent: a row per round."""
    arm, seed, budget, patience, tiny, folder = task
    configure_torch(1)
    spec, paths, rows = stage_spec(arm, seed, patience, tiny), [], []
    halving, started = Halving.of(spec), time.process_time()
    round_ = 0
    while time.process_time() - started < budget:
        path = folder / arm / str(seed) / f"r{round_}.json"
        run_shard(
            spec, round_, 0, str(folder / "train.npz"), str(folder / "valid.npz"), None, list(paths),
            str(folder / "tracking.json"), str(path), str(path.with_suffix(".weights")), 1,
        )  # fmt: skip
        paths.append(str(path))
        trials = settle(read_shards(paths))
        rung = halving.rung(round_)
        rows.append(
            {"arm": arm, "seed": seed, "round": round_, "bracket": rung.bracket, "rung": rung.rung,
             "cpu_s": time.process_time() - started, "trials": len(trials),
             "epochs": halving_summary(trials)["epochs_trained"], "best": best_finished(trials, halving)}
        )  # fmt: skip
        row = rows[-1]
        print(f"{arm} seed {seed} round {round_}: {row['cpu_s']:.0f} CPU-s, best {row['best']:.4f}", flush=True)
        round_ += 1
    return rows


def best_at(rounds: pd.DataFrame, budget: float) -> float:
    """The best of the rounds that ended within `budget` CPU-seconds."""
    within = rounds[rounds.cpu_s <= budget]
    return within.best.min() if len(within) else float("nan")


def summarize(rounds: pd.DataFrame, budget: float, patience: str, out: Path, name: str) -> None:
    """<name>.md: the best within the budget per arm and seed; <name>.png: best so far against CPU-s."""
    table = rounds.groupby(["arm", "seed"], sort=False).apply(lambda group: best_at(group, budget)).unstack("seed")
    table["mean"] = table.mean(axis=1)
    counts = rounds.groupby(["arm", "seed"], sort=False).trials.max().unstack("seed").mean(axis=1)
    table["trials (mean)"] = counts.round(1)
    machine = f"{platform.processor() or platform.machine()}, {multiprocessing.cpu_count()} cores"
    text = (
        f"Best validation error within {budget:.0f} CPU-seconds, patience {patience} ({machine})\n\n"
        f"{table.round(4).to_markdown()}\n"
    )
    (out / f"{name}.md").write_text(text)
    print(text)
    figure, axis = plt.subplots(figsize=(6.5, 4))
    colours = dict(zip(ARMS, ("tab:blue", "tab:orange", "tab:red", "tab:green"), strict=True))
    for (arm, seed), group in rounds.groupby(["arm", "seed"], sort=False):
        axis.step(group.cpu_s, group.best, where="post", color=colours[arm], alpha=0.8,
                  label=arm if seed == 0 else None)  # fmt: skip
    axis.axvline(budget, color="0.4", linestyle=":", linewidth=0.8)
    axis.set(xlabel="CPU-seconds", ylabel="best validation error (full budget)", title="MNIST-1D fine-tuning, TPE")
    axis.legend()
    figure.tight_layout()
    figure.savefig(out / f"{name}.png", dpi=120)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--budget", type=float, default=600.0, help="CPU-seconds per arm and seed")
    parser.add_argument("--arms", nargs="+", choices=list(ARMS), default=list(ARMS))
    parser.add_argument("--patience", type=int, help="instead of the config's (0: no early stopping)")
    parser.add_argument("--name", default="halving", help="the output files' name, without suffix")
    parser.add_argument("--tiny", action="store_true", help="a few hundred rows, 9 epochs per trial (the tests')")
    parser.add_argument("--out", default="benchmarks/figures")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        save_splits(folder, args.tiny)
        tasks = [
            (arm, seed, args.budget, args.patience, args.tiny, folder)
            for seed in range(args.seeds)
            for arm in args.arms
        ]
        pool = multiprocessing.get_context("spawn").Pool(2)
        rounds = pd.DataFrame([row for rows in pool.imap(search, tasks) for row in rows])
        pool.close()  # and let the workers end: a shard takes SIGTERM for an interruption
        pool.join()
    rounds.to_csv(out / f"{args.name}.csv", index=False)
    patience = "as configured" if args.patience is None else str(args.patience)
    summarize(rounds, args.budget, patience, out, args.name)


if __name__ == "__main__":
    main()
