"""Quality at equal CPU: the default config's final model against a generic tuner's, side by side.

For each seed of the search:
- **layerwise**: `snakemake` on config/config.yaml (seed and experiment changed, nothing else), in a
  scratch folder; its CPU seconds are those of snakemake and every job it ran (the children's
  rusage); its result is summary.json's `test_accuracy` (the final model the run reports), beside
  its logistic baseline.
- **Optuna TPE**: Optuna's TPESampler (default settings, sequential) over a plain dropout MLP from
  random weights — 1–3 hidden layers of 64–1024 relu units, dropout, learning rate, momentum, one
  weight decay for every layer, batch size; early stopping — trained by the same training code, on
  the same preprocessed splits the layerwise run wrote, one thread, until it has spent the layerwise
  run's CPU seconds. Its result is the test accuracy of its best trial's network.

With `--permuted`, both sides read MNIST-1D from CSV files (`data.source: file`) whose feature columns
are shuffled: a fully connected network must not care. Outputs in `--out`: `quality.csv` (one row
per side and seed), `quality.md` (the table) and `quality.png` (best validation error so far against
CPU seconds: layerwise's fine-tuning trials, placed after its pretraining's CPU time, and Optuna's).

    .venv/bin/python benchmarks/quality.py [--seeds 3] [--permuted] [--out benchmarks/figures]
"""

import argparse
import json
import resource
import tempfile
import time
from pathlib import Path

import matplotlib
import numpy as np
import optuna
import pandas as pd
import torch
import yaml
from orchestration import REPO, merged, timed_snakemake

from layerwise.data.sets import load_builtin
from layerwise.learn.training import Diverged, classification_error
from layerwise.search.trials import Trial
from layerwise.seeding import configure_torch, derive_seed, seed_everything
from layerwise.stages import finetune
from layerwise.stages.inputs import StageInputs, load_tensors

matplotlib.use("Agg")
from matplotlib import pyplot as plt  # noqa: E402

PATIENCE = 15
MAX_EPOCHS = 150


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def permuted_files(folder: Path, seed: int) -> dict:
    """MNIST-1D as a train CSV and a test CSV, its feature columns in a seeded random order."""
    x, y, x_test, y_test = load_builtin("mnist1d")
    order = np.random.default_rng(seed).permutation(x.shape[1])
    paths = {}
    for name, (features, labels) in {"train": (x, y), "test": (x_test, y_test)}.items():
        frame = pd.DataFrame(features[:, order], columns=[f"f{column}" for column in order])
        paths[name] = folder / f"mnist1d-permuted-{name}.csv"
        frame.assign(label=labels).to_csv(paths[name], index=False)
    return {"source": "file", "path": str(paths["train"]), "test_path": str(paths["test"]), "label_column": "label"}


def layerwise_side(seed: int, folder: Path, data: dict | None) -> dict:
    config = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    config = merged(config, {"seed": seed, "experiment": f"quality-{seed}", **({"data": data} if data else {})})
    before = children_cpu()
    _, wall = timed_snakemake(folder, config, 2)
    cpu = children_cpu() - before
    results = folder / "results" / config["experiment"]
    summary = json.loads((results / "summary.json").read_text())
    trials = pd.read_csv(results / "trials.csv")
    pretraining = trials[trials.stage != "finetune"].duration_s.sum()
    tuning = trials[trials.stage == "finetune"].sort_values(["round", "index"])
    curve = [
        (pretraining + spent, best)
        for spent, best in zip(tuning.duration_s.cumsum(), tuning.objective.cummin(), strict=True)
    ]
    return {
        "side": "layerwise (default config)", "seed": seed, "test_accuracy": summary["test_accuracy"],
        "valid_error": summary["valid_error"], "baseline_test_accuracy": summary["baseline"]["test_accuracy"],
        "cpu_s": cpu, "wall_s": wall, "trials": len(trials), "results": str(results), "curve": curve,
    }  # fmt: skip


def optuna_side(seed: int, results: Path, budget: float, folder: Path) -> dict:
    """Optuna's TPE on the layerwise run's preprocessed splits, until `budget` CPU seconds are spent."""
    configure_torch(1)
    inputs = StageInputs(str(results / "data" / "train.npz"), str(results / "data" / "valid.npz"), None)
    test = load_tensors(str(results / "data" / "test.npz"))
    started, curve, best = time.process_time(), [], {"error": np.inf}

    def objective(optuna_trial) -> float:
        params = {
            **finetune.DEFAULTS, "max_epochs": MAX_EPOCHS, "activation": "relu",
            "hidden_layers": optuna_trial.suggest_int("hidden_layers", 1, 3),
            "hidden_units": optuna_trial.suggest_int("hidden_units", 64, 1024, log=True),
            "dropout": optuna_trial.suggest_float("dropout", 0.0, 0.5),
            "learning_rate": optuna_trial.suggest_float("learning_rate", 1e-3, 0.3, log=True),
            "momentum": optuna_trial.suggest_float("momentum", 0.5, 0.99),
            "batch_size": optuna_trial.suggest_categorical("batch_size", [32, 64, 128]),
        }  # fmt: skip
        decay = optuna_trial.suggest_float("l2", 0.01, 30.0, log=True)  # B/T-scaled, as the pipeline's l2
        params |= {f"l2_{group}": decay for group in ("input", "hidden", "output")}
        number = optuna_trial.number
        trial = Trial("finetune", 0, number, 0, None, derive_seed(seed, "optuna", number), params)
        seed_everything(trial.seed)
        weights = folder / f"optuna-{number}.pt"
        try:
            result = finetune.run_trial(
                trial, inputs, {"patience": PATIENCE}, str(weights), torch.Generator().manual_seed(trial.seed)
            )
        except Diverged:
            curve.append((time.process_time() - started, best["error"]))
            raise optuna.TrialPruned() from None
        if result["objective"] < best["error"]:
            best.update(error=result["objective"], weights=weights)
        curve.append((time.process_time() - started, best["error"]))
        if time.process_time() - started >= budget:
            optuna_trial.study.stop()
        return result["objective"]

    study = optuna.create_study(direction="minimize", sampler=optuna.samplers.TPESampler(seed=seed))
    study.optimize(objective)
    from layerwise.model.network import load_network

    test_error = classification_error(load_network(str(best["weights"]))[0], test.x, test.y)[0]
    return {
        "side": "Optuna TPE (dropout MLP)", "seed": seed, "test_accuracy": 1 - test_error,
        "valid_error": best["error"], "cpu_s": time.process_time() - started, "trials": len(study.trials),
        "curve": curve,
    }  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--permuted", action="store_true", help="read MNIST-1D from CSVs with shuffled columns")
    parser.add_argument("--out", default="benchmarks/figures")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    name = "quality-permuted" if args.permuted else "quality"
    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        for seed in range(args.seeds):
            folder = Path(scratch) / f"seed{seed}"
            folder.mkdir()
            data = permuted_files(folder, seed) if args.permuted else None
            ours = layerwise_side(seed, folder, data)
            theirs = optuna_side(seed, Path(ours["results"]), ours["cpu_s"], folder)
            for row in (ours, theirs):
                print(json.dumps({k: v for k, v in row.items() if k != "curve"}), flush=True)
            rows += [ours, theirs]
    report(rows, args.seeds, name, out)


def report(rows: list[dict], seeds: int, name: str, out: Path) -> None:
    """The per-seed CSV, the table (means over seeds, and on how many seeds layerwise is ahead) and the
    best-so-far figure."""
    table = pd.DataFrame(rows)
    table.drop(columns=["curve", "results"]).to_csv(out / f"{name}.csv", index=False)
    summary = table.groupby("side", sort=False).agg(
        seeds=("seed", "size"), test_accuracy=("test_accuracy", "mean"), test_accuracy_std=("test_accuracy", "std"),
        valid_error=("valid_error", "mean"), cpu_s=("cpu_s", "mean"), trials=("trials", "mean"),
    )  # fmt: skip
    wins = sum(
        ours > theirs
        for ours, theirs in zip(table[table.side.str.startswith("layerwise")].test_accuracy,
                                table[table.side.str.startswith("Optuna")].test_accuracy, strict=True)
    )  # fmt: skip
    (out / f"{name}.md").write_text(
        summary.to_markdown(floatfmt=".3f") + f"\n\nlayerwise ahead on test accuracy in {wins} of {seeds} seeds\n"
    )
    print(summary.to_string(), f"\nlayerwise ahead in {wins} of {seeds} seeds")
    figure, axes = plt.subplots(figsize=(7, 4.5), dpi=150)
    for row in rows:
        spent, best = zip(*row["curve"], strict=True)
        axes.step(spent, best, where="post", color="C0" if row["side"].startswith("layerwise") else "C1",
                  label=row["side"] if row["seed"] == 0 else None)  # fmt: skip
    axes.set(xlabel="CPU seconds", ylabel="best validation error so far", title=name)
    axes.legend()
    figure.tight_layout()
    figure.savefig(out / f"{name}.png")


if __name__ == "__main__":
    main()
