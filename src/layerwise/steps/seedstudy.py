"""The seed study (Bengio 2012, "Random seeds"): the selected configuration trained again with other seeds.

Each member (`seed<i>`) is a fine-tuning trial with the selected trial's hyper-parameters and parent
stack and a seed of its own. A refit member trains on training + validation data for the number of
epochs early stopping chose, with no early stopping (it sees a quarter more examples than the search
did, the data the search held out to choose); otherwise a member trains as the search's trials did.
A cross-fitted twin (stages/choice.py) trains as a refit does on every labelled row outside its fold.
Members are written as the selected network is (weights + record); only evaluate.py scores them on
the test split, alone and as an ensemble.
"""

import time
from dataclasses import replace

import torch

from layerwise.files import write_json
from layerwise.learn.devices import resolve_device
from layerwise.records import TrialRecord
from layerwise.seeding import configure_torch, derive_seed, seed_everything
from layerwise.selections import read_selection
from layerwise.stages import finetune
from layerwise.stages.choice import folds
from layerwise.stages.inputs import StageInputs, Tensors
from layerwise.stagespec import StageSpec


def member_trial(best: TrialRecord, seed: int, member: str) -> TrialRecord:
    return TrialRecord.planned(
        "seed-study", 0, 0, best.arm, best.parent_rank, derive_seed(seed, "seed-study", member), best.params
    )


def fold_seed(seed: int) -> int:
    return derive_seed(seed, "seed-study", "folds")


def retrain(
    selected_path: str,
    train: str,
    valid: str,
    parents: str | None,
    spec: StageSpec,
    member: str,
    refit: bool,
    weights: str,
    out: str,
    threads: int,
    device: str = "cpu",
    fold: tuple[int, int] | None = None,
) -> dict:
    """Trains one member on `device` (auto, cpu or cuda), on train + valid if `refit`, on the labelled
    rows outside fold i of k if `fold` is (i, k), and writes its record: member, seed, refit, fold
    (None, or its index, count and seed), valid_error (on its fold if any; None for a refit),
    best_epoch, weights and its training time (duration_s)."""
    configure_torch(threads)
    best = read_selection(selected_path).best.record
    trial = member_trial(best, spec.seed, member)
    inputs = StageInputs(train, valid, parents, resolve_device(device))
    folding = None if fold is None else {"index": fold[0], "count": fold[1], "seed": fold_seed(spec.seed)}
    if refit or folding:
        labelled = inputs.train = Tensors.joined(inputs.train, inputs.valid)
        if folding:
            kept, held = folds(labelled.y.cpu().numpy(), folding["count"], folding["seed"])[folding["index"]]
            inputs.train, inputs.valid = labelled.take(kept), labelled.take(held)
        trial = replace(trial, params={**trial.params, "max_epochs": best.metrics["best_epoch"]})
        spec = replace(spec, patience=0)  # the epoch count is chosen already; validation data is now training data
    seed_everything(trial.seed)
    started = time.perf_counter()
    result = finetune.run_trial(trial, inputs, spec, weights, torch.Generator().manual_seed(trial.seed))
    record = {
        "duration_s": time.perf_counter() - started,
        "member": member,
        "seed": trial.seed,
        "refit": refit,
        "fold": folding,
        "valid_error": None if refit else result["objective"],
        "best_epoch": result["metrics"]["best_epoch"],
        "weights": weights,
    }
    write_json(out, record)
    print(f"{member}: {record}", flush=True)
    return record
