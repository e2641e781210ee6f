"""A shard: one process that runs a subset of a stage's trials, sharing data and parent features.

A trial that raises or diverges is recorded as FAILED with its reason; the shard goes on.
"""

import signal
import sys
import time
import traceback
from pathlib import Path

import torch

from layerwise import trialruns
from layerwise.checkpoint import Checkpoint, trial_key
from layerwise.devices import resolve_device
from layerwise.files import write_json
from layerwise.inputs import MissingParent, StageInputs
from layerwise.kinds import KINDS, stage_space
from layerwise.seeding import configure_torch, seed_everything
from layerwise.selection import load_records
from layerwise.strategies import make_strategy
from layerwise.tracking import Tracker
from layerwise.training import Diverged, checkpointing, reporting_epochs
from layerwise.trials import plan_round, shard_trials


def round_trials(spec: dict, round_: int, history: list[dict]):
    """Every trial of a round, as the stage's strategy proposes it from the earlier rounds' records."""
    strategy = make_strategy(stage_space(spec), spec["seed"], spec["stage"], spec["strategy"])
    return plan_round(spec, strategy, round_, history)


def failure_reason(error: Exception) -> str:
    if isinstance(error, Diverged):
        return f"diverged: {error}"
    if isinstance(error, MissingParent):
        return f"skipped: {error}"
    return f"{type(error).__name__}: {error}"


def parent_trial_of(inputs: StageInputs, trial) -> str | None:
    try:
        entry = inputs.parent(trial.parent_rank)
    except MissingParent:
        return None
    return entry["trial_id"] if entry else None


class Interrupted(BaseException):
    """SIGTERM (from Snakemake, SLURM or kill): like Ctrl-C, it ends the shard, not just one trial."""


def interrupt(signum, frame):
    raise Interrupted(f"signal {signum}")


def checkpoint_for(trial, spec: dict, folder: Path | None) -> Checkpoint | None:
    """Where a trial of a stage that checkpoints (fine-tuning, `checkpoint_after_s`) keeps its state."""
    if folder is None or spec.get("checkpoint_after_s") is None:
        return None
    key = trial_key(trial.params, trial.seed, spec)
    return Checkpoint(folder / f"{trial.trial_id}.pt", key, spec["checkpoint_after_s"])


def run_one(
    trial, spec: dict, inputs: StageInputs, weights_dir: Path, tracker: Tracker, checkpoints: Path | None = None
) -> dict:
    module = KINDS[spec["kind"]]
    record = {
        "stage": trial.stage,
        "round": trial.round,
        "index": trial.index,
        "trial_id": trial.trial_id,
        "arm": trial.arm,
        "parent_rank": trial.parent_rank,
        "parent_trial": parent_trial_of(inputs, trial),
        "seed": trial.seed,
        "proposed": trial.params,  # before resolve(): what the strategy chose, for later rounds to build on
        "extended": list(trial.extended),
    }
    run_id, tracking_error = trialruns.open_run(tracker, record)
    weights = weights_dir / f"{trial.trial_id}{module.ARTIFACT_SUFFIX}"
    curves, checkpoint = tracker.live_metrics(run_id), checkpoint_for(trial, spec, checkpoints)
    started = time.perf_counter()
    try:
        with reporting_epochs(curves), checkpointing(checkpoint):
            trial = module.resolve(trial, inputs, spec)
            seed_everything(trial.seed)
            generator = torch.Generator().manual_seed(trial.seed)
            result = module.run_trial(trial, inputs, spec, str(weights), generator)
        status, reason = "FINISHED", None
    except Exception as error:  # a failed trial is recorded, never fatal to the shard
        traceback.print_exc(file=sys.stderr)
        result, status, reason = {"objective": None, "metrics": {}, "history": {}}, "FAILED", failure_reason(error)
    except BaseException:  # Ctrl-C or SIGTERM: this attempt ends here, and its run must not stay RUNNING
        tracker.close_run(run_id, "KILLED", "the shard was interrupted")
        raise
    duration = time.perf_counter() - started
    if checkpoint:  # the trial ended either way: another attempt would give the same result
        checkpoint.clear()
    curves.flush()  # the epochs since the last batch, a diverged trial's included
    record |= {
        "params": trial.params,
        "status": status,
        "reason": reason,
        "objective": result["objective"],
        "metrics": result["metrics"],
        "curves": result["history"],  # per epoch: train_loss, valid_loss (and valid_error when fine-tuning)
        "duration_s": duration,
        "weights": str(weights) if status == "FINISHED" else None,
        "mlflow_run_id": run_id,
    }
    tracking_error = tracking_error or curves.error or trialruns.close_run(tracker, record)
    return record | ({"tracking_error": tracking_error} if tracking_error else {})


def progress_line(record: dict, position: int, total: int, elapsed: float) -> str:
    """One line per finished trial, with the time the shard's remaining trials will take at this pace."""
    objective = "-" if record["objective"] is None else f"{record['objective']:.4f}"
    left = elapsed / position * (total - position)
    return (
        f"[{position}/{total}] {record['stage']} {record['trial_id']}: {record['status']} objective {objective} "
        f"({record['duration_s']:.1f}s){' ' + record['reason'] if record['reason'] else ''}; about {left:.0f}s left"
    )


def run_shard(
    spec: dict,
    round_: int,
    shard: int,
    train: str,
    valid: str,
    parents: str | None,
    history: list[str],
    tracking: str,
    records: str,
    weights_dir: str,
    threads: int,
    checkpoints: str | None = None,
    device: str = "cpu",
) -> None:
    """Runs the shard's trials of one round on `device` (auto, cpu or cuda); `history` holds the shard
    records of the earlier rounds, `checkpoints` the folder where long trials keep their training state
    (see checkpoint.py)."""
    configure_torch(threads)
    on = resolve_device(device)
    signal.signal(signal.SIGTERM, interrupt)
    trials = shard_trials(round_trials(spec, round_, load_records(history)), shard, spec["shards"])
    inputs = StageInputs(train, valid, parents, on)
    print(f"{len(trials)} trials on {on}", flush=True)
    tracker = Tracker.from_file(tracking)
    superseded = tracker.supersede({trial.trial_id for trial in trials})
    if superseded:
        print(f"{superseded} runs of an earlier, incomplete attempt of these trials are marked superseded", flush=True)
    directory = Path(weights_dir)
    directory.mkdir(parents=True, exist_ok=True)
    results, started = [], time.perf_counter()
    for position, trial in enumerate(trials, start=1):
        record = run_one(trial, spec, inputs, directory, tracker, Path(checkpoints) if checkpoints else None)
        results.append(record)
        print(progress_line(record, position, len(trials), time.perf_counter() - started), flush=True)
    write_json(records, {"stage": spec["stage"], "round": round_, "shard": shard, "records": results})
