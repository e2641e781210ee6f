"""A trial's MLflow run, made from its record: opened before it trains, closed after, repaired later.

The record (shard.run_one) is the source of truth. A tracking write that fails after its retries never
costs a trial its result: the record keeps the error in `tracking_error`, and the stage's selection
logs the run again from the record (`repair`).
"""

import sys

from layerwise.records import TrialRecord
from layerwise.status import Status
from layerwise.track.tags import BUDGET, EXTENDED, PACK, PARENT_TRIAL, REASON, RUNG, SHARD, STATUS, TRIAL
from layerwise.track.tracking import Tracker


def rung_tags(record: TrialRecord) -> dict:
    return {RUNG: record.rung, BUDGET: record.budget} if record.halving else {}


def opening_tags(record: TrialRecord) -> dict:
    """What is known of a trial before it trains."""
    tags = {
        TRIAL: record.index,
        "layerwise.round": record.round,
        "layerwise.arm": record.arm,
        "layerwise.seed": record.seed,
        SHARD: record.shard,
    }
    if record.parent_trial:
        tags[PARENT_TRIAL] = record.parent_trial
    if record.extended:
        tags[EXTENDED] = "; ".join(record.extended)
    if record.pack:
        tags[PACK] = record.pack
    return tags | rung_tags(record)


def describe(error: Exception) -> str:
    return f"{type(error).__name__}: {error}"


def warn(record: TrialRecord, error: str) -> None:
    print(f"warning: MLflow did not record trial {record.trial_id} ({error}); its files hold it", file=sys.stderr)


def open_run(tracker: Tracker, record: TrialRecord, params: dict) -> tuple[str | None, str | None]:
    """(run id, tracking error): a RUNNING run under the stage run, with the trial's hyper-parameters, so
    the UI shows the trial training and what it trains."""
    try:
        params = {**params, "seed": record.seed}
        return tracker.start_trial(record.stage, record.trial_id, opening_tags(record), params), None
    except Exception as error:  # the store is unreachable: train anyway, the selection repairs the run
        warn(record, describe(error))
        return None, describe(error)


def continue_run(tracker: Tracker, record: TrialRecord, run_id: str) -> tuple[str, str | None]:
    """(run id, tracking error): the run of a trial that goes on at a later rung, RUNNING again with
    this rung's tags, so that its curves go on in the same run."""
    try:
        tracker.reopen(run_id, opening_tags(record))
        return run_id, None
    except Exception as error:  # the selection logs it again from the record
        warn(record, describe(error))
        return run_id, describe(error)


def closing(record: TrialRecord) -> dict:
    """What a finished (or failed) trial logs: its hyper-parameters, metrics, status and weights."""
    reason = {REASON: record.reason} if record.reason else {}
    return {
        "params": {**record.params, "seed": record.seed},
        "metrics": {**record.metrics, "duration_s": record.duration_s},
        "tags": {STATUS: record.status, **reason, **rung_tags(record)},
        "artifacts": [record.weights] if record.finished else [],
        "status": record.status,
    }


def close_run(tracker: Tracker, record: TrialRecord) -> str | None:
    """Logs the record on its run and closes it; returns the tracking error, if any."""
    try:
        tracker.finish_run(record.mlflow_run_id, **closing(record))
        return None
    except Exception as error:
        warn(record, describe(error))
        return describe(error)


def repair(tracker: Tracker, record: TrialRecord) -> str | None:
    """Logs again, from the record, a trial whose tracking failed: opens its run if it has none, adds
    the epochs of its curves the store lacks, and closes it. Returns the run, when the store now holds it."""
    try:
        run_id = record.mlflow_run_id or tracker.start_trial(record.stage, record.trial_id, opening_tags(record))
        tracker.log_missing_steps(run_id, record.curves)
        tracker.finish_run(run_id, **closing(record))
        return run_id
    except Exception as error:
        warn(record, describe(error))
        return None


def repair_stage(tracker: Tracker, records: list[TrialRecord]) -> list[str]:
    """Repairs the runs of a stage's trials whose tracking failed, then supersedes their runs of earlier
    attempts that the shard could not mark (the store being down when it started). Returns the trials
    the store still lacks."""
    unrecorded = [record for record in records if record.tracking_error]
    if not unrecorded:
        return []
    repaired = {record.trial_id: repair(tracker, record) for record in unrecorded}
    current = {record.mlflow_run_id for record in records} | set(repaired.values())
    stale = earlier_attempts(tracker, {record.trial_id for record in records})
    supersede(tracker, [run for runs in stale.values() for run in runs if run.info.run_id not in current])
    unrepaired = [trial for trial, run_id in repaired.items() if run_id is None]
    print(f"MLflow runs of {len(repaired) - len(unrepaired)} of {len(repaired)} unrecorded trials repaired")
    return unrepaired


def earlier_attempts(tracker: Tracker, trial_ids: set[str]) -> dict[str, list]:
    """`Tracker.stale_runs`, or none when the store cannot be reached: `repair_stage` supersedes them."""
    try:
        return tracker.stale_runs(trial_ids)
    except Exception as error:
        print(f"warning: MLflow could not list earlier attempts' runs ({describe(error)})", file=sys.stderr)
        return {}


def supersede(tracker: Tracker, runs: list) -> int:
    """`Tracker.supersede`; 0 when the store cannot be reached (`repair_stage` supersedes them later)."""
    try:
        return tracker.supersede(runs)
    except Exception as error:
        print(f"warning: MLflow could not mark earlier attempts' runs superseded ({describe(error)})", file=sys.stderr)
        return 0


def mark_pruned(tracker: Tracker, records: list[TrialRecord]) -> None:
    """Tags the runs of the trials that halving cut (`halving.settle`) PRUNED, with the rung they
    reached (their run stays FINISHED: they trained their budget); best effort, the records hold it."""
    for record in records:
        if record.status == Status.PRUNED and record.mlflow_run_id:
            try:
                tracker.set_tags(record.mlflow_run_id, {STATUS: Status.PRUNED.value, **rung_tags(record)})
            except Exception as error:
                warn(record, describe(error))
