"""Search strategies at equal budget on MNIST-1D (in the spirit of Bergstra & Bengio 2012).

Two searches, each run by every strategy with several seeds of the search itself:
- layer 1: one pretrained layer, scored by the ridge read-out (the cheap layer objective);
- fine-tuning: a one-hidden-layer network from random weights, scored by validation error.
Each space has two hyper-parameters expected to matter and a third expected to matter less, the
case where random search should beat a grid (benchmarks/README.md says what happened). The trials
run through the pipeline's own code (strategies, the shards' trial loop), in this process, without
Snakemake or MLflow. Output: a trial-level CSV, the best validation error
after n trials per strategy (mean over seeds) as a Markdown table, and a plot.

    .venv/bin/python benchmarks/strategies.py [--seeds 3] [--tiny] [--out benchmarks/figures]
"""

import argparse
import json
import tempfile
import time
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
import torch

from layerwise.data.sets import Split, load_and_split, save_split
from layerwise.data.transforms import fit_preprocessor, transform
from layerwise.learn import stack as stacks
from layerwise.seeding import configure_torch
from layerwise.stages.inputs import StageInputs
from layerwise.stagespec import StageSpec, from_dict
from layerwise.steps.shard import round_trials, run_one
from layerwise.track.triallog import TrialLog

matplotlib.use("Agg")
from matplotlib import pyplot as plt  # noqa: E402

from layerwise.selections import Kept, Selection, write_selection

BUDGET = 18  # trials per search, for every strategy
# --tiny, the test suite's setting: the same code on scikit-learn's digits (MNIST-1D's generation alone
# takes 5 s), at most TINY_ROWS rows per split, trials of at most TINY_EPOCHS epochs.
TINY_ROWS, TINY_EPOCHS = 300, 2
# (settings, trials per round): every strategy spends BUDGET trials
STRATEGIES = {
    "random": ({"name": "random", "rounds": 1}, 18),
    "grid": ({"name": "grid", "rounds": 1, "grid": {"learning_rate": 3, "second": 3, "minor": 2}}, None),
    "multires": ({"name": "multires", "rounds": 2, "grid": {"learning_rate": 3, "second": 3, "minor": 1}}, None),
    "coordinate": ({"name": "coordinate", "rounds": 3}, 6),
    "tpe": ({"name": "tpe", "rounds": 3}, 6),
}
SEARCHES = {
    "layer1": {
        "kind": "pretrain",
        "second": "hidden_units",
        "minor": "corruption",
        "space": {
            "learning_rate": {"type": "float", "low": 0.001, "high": 0.3, "log": True},
            "hidden_units": {"type": "int", "low": 32, "high": 512, "log": True},
            "corruption": {"type": "float", "low": 0.0, "high": 0.5},
            "activation": "relu",
            "epochs": 10,
            "batch_size": 32,
        },
    },
    "finetune": {
        "kind": "finetune",
        "second": "l2_output",
        "minor": "dropout",
        "space": {
            "learning_rate": {"type": "float", "low": 0.003, "high": 0.3, "log": True},
            "l2_output": {"type": "float", "low": 0.01, "high": 10.0, "log": True},
            "dropout": {"type": "float", "low": 0.0, "high": 0.3},
            "max_epochs": 40,
            "batch_size": 64,
            "hidden_layers": 1,  # the no-pretraining arm's shape: one hidden layer of 256 relu units
            "hidden_units": 256,
        },
    },
}


def save_splits(folder: Path, tiny: bool) -> int:
    """Standardized MNIST-1D train and validation splits (--tiny: digits'), and no tracking; the number of
    features."""
    splits = load_and_split("digits" if tiny else "mnist1d", 0, 0.2, 0.2, None, None, "label")
    rows = slice(TINY_ROWS if tiny else None)
    train, valid = (Split(splits[name].x[rows], splits[name].y[rows]) for name in ("train", "valid"))
    pipeline = fit_preprocessor([{"transform": "standardize"}], train.x)
    for name, split in (("train", train), ("valid", valid)):
        save_split(Split(transform(pipeline, split.x), split.y), str(folder / f"{name}.npz"))
    (folder / "tracking.json").write_text(json.dumps({"enabled": False}))
    return train.x.shape[1]


def shrunk(space: dict) -> dict:
    """--tiny: the space with at most TINY_EPOCHS epochs per trial."""
    return {**space, **{key: min(space[key], TINY_EPOCHS) for key in ("epochs", "max_epochs") if key in space}}


def prepare(folder: Path, tiny: bool = False) -> dict:
    """Standardized MNIST-1D splits and a one-layer random stack that fixes the fine-tuned shape."""
    n_in = save_splits(folder, tiny)
    layer = {"n_in": n_in, "n_hidden": 256, "activation": "relu", "trial_id": "shape"}
    stacks.save(
        {"layers": [{**layer, "weight": torch.zeros(256, n_in), "bias": torch.zeros(256)}]}, str(folder / "s.pt")
    )
    write_selection(
        str(folder / "parents.json"), Selection("layer1", entries=(Kept(0, "shape", str(folder / "s.pt")),))
    )
    return {
        "layer1": StageInputs(str(folder / "train.npz"), str(folder / "valid.npz"), None),
        "finetune": StageInputs(str(folder / "train.npz"), str(folder / "valid.npz"), str(folder / "parents.json")),
    }


def stage_spec(search: str, strategy: str, seed: int, tiny: bool = False) -> StageSpec:
    settings, per_round = STRATEGIES[strategy]
    definition = SEARCHES[search]
    space = shrunk(definition["space"]) if tiny else definition["space"]
    renamed = {
        **settings,
        "grid": {definition.get(key, key): points for key, points in settings.get("grid", {}).items()},
    }
    return from_dict({
        "stage": search, "kind": definition["kind"], "config_key": definition["kind"], "seed": seed,
        "strategy": renamed, "trials_per_parent": per_round or BUDGET,
        "shards": 1, "space": space, "readout": "ridge", "readout_ridge": 1e-3, "patience": 10,
        # fine-tuning: the no-pretraining arm only, shaped like the one-layer stack
        "parents": 1 if search == "layer1" else 0, "has_parent_stacks": search != "layer1",
        "no_pretraining_arm": search == "finetune", "top_k": 1,
    })  # fmt: skip


def run_search(search: str, strategy: str, seed: int, inputs: StageInputs, folder: Path, tiny: bool) -> list[dict]:
    spec = stage_spec(search, strategy, seed, tiny)
    log, history = TrialLog.untracked(), []
    for round_ in range(STRATEGIES[strategy][0]["rounds"]):
        for trial in round_trials(spec, round_, history, inputs):
            history.append(run_one(trial, spec, inputs, folder, log))
    return history


def best_so_far(trials: pd.DataFrame) -> pd.DataFrame:
    """Best validation error after n trials, in the order the trials ran (round, then index)."""
    ordered = trials.sort_values(["round", "index"])
    return ordered.assign(n=range(1, len(ordered) + 1), best=ordered.objective.cummin())


def search_arguments(description: str) -> tuple[argparse.Namespace, Path]:
    """The options of a search benchmark (--seeds, --tiny, --out) and its output folder, made; torch on 1 thread."""
    parser = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--tiny", action="store_true", help="a few hundred rows, 2 epochs per trial (the tests')")
    parser.add_argument("--out", default="benchmarks/figures")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    configure_torch(1)
    return args, out


def main() -> None:
    args, out = search_arguments(__doc__)
    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        inputs = prepare(Path(scratch), args.tiny)
        for search in SEARCHES:
            for strategy in STRATEGIES:
                for seed in range(args.seeds):
                    started = time.perf_counter()
                    records = run_search(search, strategy, seed, inputs[search], Path(scratch), args.tiny)
                    took = time.perf_counter() - started
                    print(f"{search} {strategy} seed {seed}: {len(records)} trials in {took:.0f}s", flush=True)
                    for record in records:
                        rows.append(
                            {"search": search, "strategy": strategy, "seed": seed, "round": record.round,
                             "index": record.index, "status": record.status,
                             "objective": record.objective if record.objective is not None else np.nan,
                             "duration_s": record.duration_s, **record.params}
                        )  # fmt: skip
    trials = pd.DataFrame(rows)
    trials.to_csv(out / "strategies.csv", index=False)
    summarize(trials, out)


def summarize(trials: pd.DataFrame, out: Path) -> None:
    """The best-so-far table (mean and spread over seeds at 6, 12 and 18 trials) and plot."""
    groups = trials.groupby(["search", "strategy", "seed"], sort=False)
    curves = pd.concat(best_so_far(group).assign(search=s, strategy=g, seed=d) for (s, g, d), group in groups)
    table = (
        curves[curves.n.isin([6, 12, 18])]
        .groupby(["search", "strategy", "n"], sort=False)
        .best.agg(["mean", "std"])
        .unstack("n")
        .round(4)
    )
    (out / "strategies.md").write_text(table.to_markdown() + "\n")
    print(table.to_string())
    figure, axes = plt.subplots(1, len(SEARCHES), figsize=(10, 4))
    for axis, search in zip(axes, SEARCHES, strict=True):
        mean = curves[curves.search == search].groupby(["strategy", "n"]).best.mean().unstack("strategy")
        mean.plot(ax=axis)
        axis.set(title=search, xlabel="trials", ylabel="best validation error (mean over seeds)")
    figure.tight_layout()
    figure.savefig(out / "strategies.png", dpi=120)


if __name__ == "__main__":
    main()
