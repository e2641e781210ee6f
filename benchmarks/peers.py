"""The pipeline's search against Optuna's, at equal budget, on the same fine-tuning search.

The fine-tuning search of `strategies.py` (MNIST-1D, a 256-unit hidden layer from random weights;
`learning_rate`, `l2_output` and `dropout` searched; up to 40 epochs with early stopping), 24 trials:
- pipeline `random` (one round of 24) and `tpe` (4, 8 and 12 rounds of 6, 3 and 2: a round's trials
  run side by side in shards, and the model sees each round's results before proposing the next),
  through the shards' own trial loop;
- the same two with their trials trained in packs of 24 (`finetune.pack_size`), 96 trials: `random`
  in one round, `tpe` in 4 rounds of 24;
- Optuna's `RandomSampler` and `TPESampler` (proposing one trial at a time, having seen every result),
  through the usual in-process `study.optimize`, the objective training the network with the same
  training code.
Every search runs with several seeds. The figures are the best validation error after n trials and
the CPU time (this process's) spent to get there, proposing included.

    .venv/bin/python benchmarks/peers.py [--seeds 3] [--tiny] [--out benchmarks/figures]
"""

import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import optuna
import pandas as pd
import torch
from strategies import prepare, search_arguments, stage_spec

from layerwise.records import TrialRecord
from layerwise.search.space import Fixed
from layerwise.seeding import derive_seed, seed_everything
from layerwise.stages import finetune
from layerwise.stages.kinds import stage_space
from layerwise.stagespec import StageSpec
from layerwise.steps.shard import groups, round_trials, run_group
from layerwise.track.triallog import TrialLog

BUDGET = 24
PIPELINE = {"random": ({"name": "random"}, 1), "tpe": ({"name": "tpe"}, 4)}  # settings, rounds
TPE_ROUNDS = (4, 8, 12)  # the pipeline's TPE in rounds of 6, 3 and 2 trials
PACKED = 4 * BUDGET  # trials of the packed searches, in packs of BUDGET
SEARCHED = {"learning_rate": (0.003, 0.3, True), "l2_output": (0.01, 10.0, True), "dropout": (0.0, 0.3, False)}


def pipeline_search(
    name: str,
    base: StageSpec,
    inputs,
    folder: Path,
    rounds: int | None = None,
    trials: int = BUDGET,
    pack_size: int = 1,
) -> list[tuple[float, float]]:
    """(objective, CPU seconds so far) after each trial of the pipeline's strategy `name` on the search
    `base`: `trials` in `rounds` rounds (default: PIPELINE's), in packs of `pack_size` (a pack's trials
    end together)."""
    settings, default_rounds = PIPELINE[name]
    rounds = rounds or default_rounds
    spec = replace(
        base, strategy=settings, trials_per_parent=trials // rounds, pack_size=pack_size, checkpoint_after_s=None
    )
    log, history, points, started = TrialLog.untracked(), [], [], time.process_time()
    for round_ in range(rounds):
        for group in groups(round_trials(spec, round_, history, inputs), spec, inputs):
            ended = run_group(group, spec, inputs, folder, log)
            history += ended
            points += [(objective_of(record.objective), time.process_time() - started) for record in ended]
    return points


def optuna_search(sampler: str, spec: StageSpec, inputs, folder: Path) -> list[tuple[float, float]]:
    """(objective, CPU seconds so far) after each trial of an Optuna study driving the same training."""
    seed = spec.seed
    fixed = {name: dist.value for name, dist in stage_space(spec).distributions.items() if isinstance(dist, Fixed)}
    points, started = [], time.process_time()

    def objective(optuna_trial) -> float:
        params = {**fixed}
        for name, (low, high, log) in SEARCHED.items():
            params[name] = optuna_trial.suggest_float(name, low, high, log=log)
        number = optuna_trial.number
        trial = TrialRecord.planned(
            "finetune", 0, number, 0, None, derive_seed(seed, "optuna", sampler, number), params
        )
        seed_everything(trial.seed)
        generator, value = torch.Generator().manual_seed(trial.seed), None
        try:
            value = finetune.run_trial(trial, inputs, spec, str(folder / "optuna.pt"), generator)["objective"]
        finally:  # a diverged trial counts too (Optuna records it as failed)
            points.append((objective_of(value), time.process_time() - started))
        return value

    samplers = {"RandomSampler": optuna.samplers.RandomSampler, "TPESampler": optuna.samplers.TPESampler}
    study = optuna.create_study(direction="minimize", sampler=samplers[sampler](seed=seed))
    study.optimize(objective, n_trials=BUDGET, catch=(Exception,))
    return points


def objective_of(value) -> float:
    return np.nan if value is None else value


def cpu_to_reach(curve: pd.DataFrame, target: float) -> float:
    """CPU seconds until the best-so-far error first reaches `target` (NaN: never)."""
    reached = curve[curve.best <= target]
    return reached.cpu_s.iloc[0] if len(reached) else np.nan


def main() -> None:
    args, out = search_arguments(__doc__)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    methods = {
        "pipeline random": lambda spec, inputs, folder: pipeline_search("random", spec, inputs, folder),
        **{
            f"pipeline tpe ({rounds} rounds of {BUDGET // rounds})": (
                lambda spec, inputs, folder, rounds=rounds: pipeline_search("tpe", spec, inputs, folder, rounds)
            )
            for rounds in TPE_ROUNDS
        },
        f"pipeline random ({PACKED} trials in packs of {BUDGET})": lambda spec, inputs, folder: pipeline_search(
            "random", spec, inputs, folder, 1, PACKED, BUDGET
        ),
        f"pipeline tpe (4 rounds of {BUDGET} in packs)": lambda spec, inputs, folder: pipeline_search(
            "tpe", spec, inputs, folder, 4, PACKED, BUDGET
        ),
        "Optuna RandomSampler": lambda spec, inputs, folder: optuna_search("RandomSampler", spec, inputs, folder),
        "Optuna TPESampler": lambda spec, inputs, folder: optuna_search("TPESampler", spec, inputs, folder),
    }
    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        inputs = prepare(Path(scratch), args.tiny)["finetune"]
        for seed in range(args.seeds):
            spec = stage_spec("finetune", "random", seed, args.tiny)
            for method, search in methods.items():
                points = search(spec, inputs, Path(scratch))
                best = np.nanmin([value for value, _ in points])
                print(f"{method} seed {seed}: best {best:.4f} in {points[-1][1]:.0f} CPU s", flush=True)
                rows += [
                    {"method": method, "seed": seed, "n": n, "objective": value, "cpu_s": cpu}
                    for n, (value, cpu) in enumerate(points, start=1)
                ]
    trials = pd.DataFrame(rows)
    trials["best"] = trials.groupby(["method", "seed"]).objective.cummin()
    trials.to_csv(out / "peers.csv", index=False)
    summarize(trials, out)


def summarize(trials: pd.DataFrame, out: Path) -> None:
    """Best error after 8, 16 and 24 trials and at the end, CPU time, the best error within the CPU time
    Optuna's TPE took for its 24 trials, and the CPU time to reach Optuna TPE's final best."""
    final = trials[trials.n == BUDGET].set_index(["method", "seed"])
    target, budget = final.loc["Optuna TPESampler"].best, final.loc["Optuna TPESampler"].cpu_s  # per seed
    rows = []
    for method, group in trials.groupby("method", sort=False):
        reach = [cpu_to_reach(curve, target[seed]) for seed, curve in group.groupby("seed")]
        within = [curve[curve.cpu_s <= budget[seed]].best.min() for seed, curve in group.groupby("seed")]
        row = {"method": method}
        for n in (8, 16, 24):
            row[f"best after {n}"] = group[group.n == n].best.mean()
        row["CPU s for 24 trials"] = final.loc[method].cpu_s.mean()
        ends = group.groupby("seed").last()
        row["trials"], row["best at the end"], row["CPU s in all"] = ends.n.iloc[0], ends.best.mean(), ends.cpu_s.mean()
        row["best within Optuna TPE's CPU s"] = np.nanmean(within)
        row["CPU s to reach Optuna TPE's best"] = np.nanmean(reach) if not np.isnan(reach).all() else np.nan
        row["seeds that reach it"] = f"{int(np.sum(~np.isnan(reach)))}/{len(reach)}"
        rows.append(row)
    table = pd.DataFrame(rows).set_index("method").round(4)
    (out / "peers.md").write_text(table.to_markdown() + "\n")
    print(table.to_string())


if __name__ == "__main__":
    main()
