"""How well does each layer objective predict what matters: the error of the network fine-tuned from
the stack it scores? (Bengio 2012, section 3.3: "the relative validation error a network would get
if this layer were its only internal representation".)

On MNIST-1D (standardized), layer-1 trials are drawn from the default config's layer space and
trained through the pipeline's own code; then layer-2 trials on top of the best layer-1 stack. Each
stack is scored by every read-out of `readout.py` (ridge, ridge_cv, logistic) and fine-tuned whole
(stack + softmax) with each of a few fixed recipes; the best recipe's validation error is the
stack's "fine-tuned error". The table gives, per layer and objective, Spearman's rank correlation
between the objective and the fine-tuned error, with its spread over bootstrap resamples of the
stacks, and the objective's cost. The default `pretrain.readout` is the one that ranks best.

    .venv/bin/python benchmarks/layer_objective.py [--layer1 24] [--layer2 12] [--tiny] [--out benchmarks/figures]
"""

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from scipy.stats import spearmanr
from strategies import prepare, shrunk

from layerwise.learn import stack as stacks
from layerwise.learn.readout import READOUTS, readout_error
from layerwise.records import TrialRecord
from layerwise.seeding import configure_torch, seed_everything
from layerwise.selections import Kept, Selection, write_selection
from layerwise.stages import finetune
from layerwise.stages.inputs import StageInputs
from layerwise.stagespec import StageSpec, from_dict
from layerwise.steps.shard import groups, round_trials, run_group
from layerwise.track.triallog import TrialLog

LAYER_SPACE = {  # the default config's layer space (config/config.yaml)
    "algorithm": "denoising_autoencoder",
    "hidden_units": {"type": "int", "low": 256, "high": 1024, "log": True},
    "learning_rate": {"type": "float", "low": 0.003, "high": 0.3, "log": True},
    "corruption": {"type": "float", "low": 0.0, "high": 0.5},
    "epochs": 20,
    "batch_size": 64,
    "activation": {"type": "categorical", "choices": ["relu", "tanh"]},
    "l2": {"type": "float", "low": 0.01, "high": 10.0, "log": True},
    "init_scale": {"type": "float", "low": 0.5, "high": 2.0, "log": True},
}
RECIPES = [  # fine-tuning recipes from the default space's sensible region; a stack's error is its best
    {"learning_rate": 0.03, "dropout": 0.2, "l2_input": 1.0, "l2_hidden": 1.0, "l2_output": 1.0},
    {"learning_rate": 0.1, "dropout": 0.1, "l2_input": 3.0, "l2_hidden": 3.0, "l2_output": 3.0},
]
FINETUNE = {"batch_size": 64, "max_epochs": 100}
BOOTSTRAP, TINY_BOOTSTRAP = 1000, 20  # resamples of the stacks; --tiny's
# The whole stack fine-tuned on one parent stack, with early stopping after 15 epochs without improvement.
FINETUNE_SPEC = from_dict({
    "stage": "finetune", "kind": "finetune", "config_key": "finetune", "seed": 0, "strategy": {"name": "random"},
    "space": FINETUNE, "trials_per_parent": len(RECIPES), "shards": 1, "parents": 1, "has_parent_stacks": True,
    "patience": 15,
})  # fmt: skip


def layer_spec(stage: str, trials: int, tiny: bool) -> StageSpec:
    """One arm: on the input (layer 1) or on the one parent stack (layer 2)."""
    return from_dict({
        "stage": stage, "kind": "pretrain", "config_key": "pretrain", "seed": 0, "strategy": {"name": "random"},
        "parents": 1, "has_parent_stacks": stage != "layer1", "trials_per_parent": trials, "top_k": 1,
        "shards": 1, "pack_size": trials, "space": shrunk(LAYER_SPACE) if tiny else LAYER_SPACE, "readout": "ridge",
        "readout_ridge": 1e-3, "tie_hidden_units": False, "distinct_parents": True,
    })  # fmt: skip


def train_layer(stage: str, trials: int, inputs: StageInputs, folder: Path, tiny: bool) -> list[dict]:
    spec, log = layer_spec(stage, trials, tiny), TrialLog.untracked()
    records = []
    for group in groups(round_trials(spec, 0, [], inputs), spec, inputs):
        records += run_group(group, spec, inputs, folder, log)
    return [record for record in records if record.finished]


def fine_tuned_error(stack_path: str, splits: Path, folder: Path, tiny: bool) -> float:
    """The best validation error of the stack fine-tuned whole with each recipe."""
    parents = folder / "stack.json"
    write_selection(str(parents), Selection("layer", entries=(Kept(0, "stack", stack_path),)))
    inputs = StageInputs(str(splits / "train.npz"), str(splits / "valid.npz"), str(parents))
    errors = []
    for number, recipe in enumerate(RECIPES):
        params = {**finetune.DEFAULTS, **(shrunk(FINETUNE) if tiny else FINETUNE), **recipe}
        trial = TrialRecord.planned("finetune", 0, number, 0, 0, 1000 + number, params)
        seed_everything(trial.seed)
        result = finetune.run_trial(
            finetune.resolve(trial, inputs, FINETUNE_SPEC), inputs, FINETUNE_SPEC, str(folder / "finetuned.pt"),
            torch.Generator().manual_seed(trial.seed),
        )  # fmt: skip
        errors.append(result["objective"])
    return min(errors)


def score_stacks(
    stage: str, records: list[dict], parent: str | None, inputs, splits: Path, folder: Path, tiny: bool
) -> list:
    rows = []
    for record in records:
        layer = torch.load(record.weights, weights_only=True)["layer"]
        stack = stacks.extend(stacks.load(parent), layer)
        path = str(folder / f"{record.trial_id}-stack.pt")
        stacks.save(stack, path)
        f_train, f_valid = stacks.encode(stack, inputs.train.x), stacks.encode(stack, inputs.valid.x)
        row = {"stage": stage, "trial_id": record.trial_id, "hidden_units": layer["n_hidden"], "stack": path}
        for readout in READOUTS:
            started = time.process_time()
            row[readout] = readout_error(
                readout, f_train, inputs.train.y, f_valid, inputs.valid.y, 1e-3, inputs.n_classes
            )
            row[f"{readout}_cpu_s"] = time.process_time() - started
        row["fine_tuned"] = fine_tuned_error(path, splits, folder, tiny)
        print(json.dumps({k: v for k, v in row.items() if k != "stack"}), flush=True)
        rows.append(row)
    return rows


def correlations(table: pd.DataFrame, resamples: int) -> pd.DataFrame:
    """Spearman's rho of each objective against the fine-tuned error, with its bootstrap spread."""
    rng, summary = np.random.default_rng(0), []
    for stage, rows in table.groupby("stage", sort=False):
        for readout in READOUTS:
            rho = spearmanr(rows[readout], rows.fine_tuned).statistic
            resampled = []
            for _ in range(resamples):
                sample = rows.iloc[rng.integers(0, len(rows), len(rows))]
                if sample[readout].nunique() > 1 and sample.fine_tuned.nunique() > 1:
                    resampled.append(spearmanr(sample[readout], sample.fine_tuned).statistic)
            summary.append({
                "layer": stage, "objective": readout, "stacks": len(rows), "spearman": rho,
                "bootstrap_std": float(np.std(resampled)), "cpu_s_per_stack": rows[f"{readout}_cpu_s"].mean(),
            })  # fmt: skip
    return pd.DataFrame(summary)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--layer1", type=int, default=24, help="layer-1 trials")
    parser.add_argument("--layer2", type=int, default=12, help="layer-2 trials on the best layer-1 stack")
    parser.add_argument("--tiny", action="store_true", help="a few hundred rows, 2 epochs per trial (the tests')")
    parser.add_argument("--out", default="benchmarks/figures")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    configure_torch(1)
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        first = prepare(folder, args.tiny)["layer1"]
        layer1 = train_layer("layer1", args.layer1, first, folder, args.tiny)
        rows = score_stacks("layer1", layer1, None, first, folder, folder, args.tiny)
        best = min(rows, key=lambda row: row["fine_tuned"])
        write_selection(str(folder / "parents.json"), Selection("layer1", entries=(Kept(0, "best", best["stack"]),)))
        second = StageInputs(str(folder / "train.npz"), str(folder / "valid.npz"), str(folder / "parents.json"))
        layer2 = train_layer("layer2", args.layer2, second, folder, args.tiny)
        rows += score_stacks("layer2", layer2, best["stack"], first, folder, folder, args.tiny)
    table = pd.DataFrame(rows).drop(columns="stack")
    table.to_csv(out / "layer_objective.csv", index=False)
    summary = correlations(table, TINY_BOOTSTRAP if args.tiny else BOOTSTRAP)
    (out / "layer_objective.md").write_text(summary.to_markdown(index=False, floatfmt=".3f") + "\n")
    print(summary.to_string(index=False))


if __name__ == "__main__":
    main()
