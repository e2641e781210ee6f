"""A trial's life in a shard, apart from training: what state it goes on from and leaves (kill
checkpoints, halving's rungs), its record and MLflow run when it opens, its record when it ends (with
the reason it failed), and its run closed when the shard is interrupted."""

import sys
import traceback
from dataclasses import dataclass, replace
from pathlib import Path

from layerwise.learn.checkpoint import Checkpoint, trial_key
from layerwise.learn.epochs import Diverged
from layerwise.records import TrialRecord
from layerwise.search.halving import Halving
from layerwise.stages.inputs import MissingParent, StageInputs
from layerwise.stages.kinds import KINDS
from layerwise.stagespec import StageSpec
from layerwise.status import Status
from layerwise.track.triallog import TrialLog


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
    return entry.trial_id if entry else None


def budgeted(trial):
    """The trial as it trains in this round: its epochs cut to the round's budget (with halving)."""
    return replace(trial, params=trial.trained_params())


def state_path(weights_dir: Path, trial) -> Path:
    """Where a trial leaves its training state when its rung ends, for the next rung."""
    return weights_dir / f"{trial.trial_id}.state.pt"


def checkpoint_for(trial, spec: StageSpec, folder: Path | None, weights_dir: Path) -> Checkpoint | None:
    """Where a trial keeps its training state: a kill checkpoint in `folder` (None: none, as for a
    packed trial) in a stage that checkpoints (fine-tuning, `checkpoint_after_s`); with halving, the
    state it goes on from (above its bracket's first rung) and where it leaves its own (below its
    bracket's last)."""
    kill = folder is not None and spec.checkpoint_after_s is not None
    start = Path(trial.state["path"]) if trial.continues else None
    below_the_last = trial.budget is not None and not Halving.of(spec).rung(trial.round).last
    end = state_path(weights_dir, trial) if below_the_last else None
    if not (kill or start or end):
        return None
    return Checkpoint(
        folder / f"{trial.trial_id}.pt" if kill else None,
        trial_key(trial.trained_params(), trial.seed, spec.to_json()),
        spec.checkpoint_after_s,
        start=start,
        end=end,
        logged=trial.state["epoch"] if trial.continues else 0,
    )


@dataclass
class Opened:
    """A trial before it trains: its record so far (RUNNING), its MLflow run (open, or the error that
    kept it shut), the listener of its live curves, and where its weights will go."""

    record: TrialRecord
    tracking_error: str | None
    curves: object
    weights: Path


def open_trial(
    trial,
    params: dict,
    spec: StageSpec,
    inputs: StageInputs,
    weights_dir: Path,
    log: TrialLog,
    shard: int,
    pack: str | None = None,
) -> Opened:
    """`shard` runs the trial with `params` (as resolved); `pack` names the pack it trains in with others,
    if it does."""
    record = replace(trial, status=Status.RUNNING, params=params, parent_trial=parent_trial_of(inputs, trial),
                     pack=pack, shard=shard)  # fmt: skip
    run_id, tracking_error, curves = log.open(record, params, trial.mlflow_run_id if trial.continues else None)
    weights = weights_dir / f"{trial.trial_id}{KINDS[spec.kind].ARTIFACT_SUFFIX}"
    return Opened(replace(record, mlflow_run_id=run_id), tracking_error, curves, weights)


def saved_state(checkpoint: Checkpoint | None, result: dict) -> dict | None:
    """Where the next rung finds the state the trial left, if it left one."""
    if checkpoint is None or checkpoint.end is None or not Path(checkpoint.end).exists():
        return None
    metrics = result["metrics"]
    return {"path": str(checkpoint.end), "epoch": metrics["stopped_epoch"], "stopped": bool(metrics["early_stopped"])}


def close_trial(opened: Opened, trial, outcome, duration: float, log: TrialLog, checkpoint=None) -> TrialRecord:
    """The trial's finished record, `outcome` being its result or the error that failed it; `duration`
    that of this round (a trial continued across rungs adds its earlier ones')."""
    if isinstance(outcome, Exception):  # a failed trial is recorded, never fatal to the shard
        traceback.print_exception(outcome, file=sys.stderr)
        result, status, reason = (
            {"objective": None, "metrics": {}, "history": {}},
            Status.FAILED,
            failure_reason(outcome),
        )
    else:
        result, status, reason = outcome, Status.FINISHED, None
    opened.curves.flush()  # the epochs since the last batch, a diverged trial's included
    finished = status == Status.FINISHED
    record = opened.record.ended(
        params=trial.params,
        status=status,
        reason=reason,
        objective=result["objective"],
        metrics=result["metrics"],
        curves=result["history"],  # per epoch: train_loss, valid_loss (and valid_error when fine-tuning)
        duration_s=duration + trial.duration_s,  # a trial continued from an earlier rung carries its time
        weights=str(opened.weights) if finished else None,
        state=saved_state(checkpoint, result) if finished and trial.budget else None,
    )
    tracking_error = log.end(record, opened.tracking_error or opened.curves.error)
    return record.ended(tracking_error=tracking_error)


def interrupted(opened: list[Opened], log: TrialLog) -> None:
    """Ctrl-C or SIGTERM: this attempt ends here, with its trials' runs."""
    log.interrupt([trial.record.mlflow_run_id for trial in opened])
