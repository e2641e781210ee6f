"""A trial's MLflow run, made from its record: opened before it trains, closed after, repaired later.

The record (shard.run_one) is the source of truth. A tracking write that fails after its retries never
costs a trial its result: the record keeps the error in `tracking_error`, and the stage's selection
logs the run again from the record (`repair`).
"""

import sys

from layerwise.tracking import EXTENDED, PACK, PARENT_TRIAL, SHARD, TRIAL, Tracker

STATUS, REASON = "layerwise.status", "layerwise.failure_reason"


def opening_tags(record: dict) -> dict:
    """What is known of a trial before it trains."""
    tags = {
        TRIAL: record["index"],
        "layerwise.round": record["round"],
        "layerwise.arm": record["arm"],
        "layerwise.seed": record["seed"],
        SHARD: record["shard"],
    }
    if record["parent_trial"]:
        tags[PARENT_TRIAL] = record["parent_trial"]
    if record["extended"]:
        tags[EXTENDED] = "; ".join(record["extended"])
    if record["pack"]:
        tags[PACK] = record["pack"]
    return tags


def describe(error: Exception) -> str:
    return f"{type(error).__name__}: {error}"


def warn(record: dict, error: str) -> None:
    print(f"warning: MLflow did not record trial {record['trial_id']} ({error}); its files hold it", file=sys.stderr)


def open_run(tracker: Tracker, record: dict) -> tuple[str | None, str | None]:
    """(run id, tracking error): a RUNNING run under the stage run, so the UI shows the trial training."""
    try:
        return tracker.start_trial(record["stage"], record["trial_id"], opening_tags(record)), None
    except Exception as error:  # the store is unreachable: train anyway, the selection repairs the run
        warn(record, describe(error))
        return None, describe(error)


def closing(record: dict) -> dict:
    """What a finished (or failed) trial logs: its hyper-parameters, metrics, status and weights."""
    reason = {REASON: record["reason"]} if record["reason"] else {}
    return {
        "params": {**record["params"], "seed": record["seed"]},
        "metrics": {**record["metrics"], "duration_s": record["duration_s"]},
        "tags": {STATUS: record["status"], **reason},
        "artifacts": [record["weights"]] if record["status"] == "FINISHED" else [],
        "status": record["status"],
    }


def close_run(tracker: Tracker, record: dict) -> str | None:
    """Logs the record on its run and closes it; returns the tracking error, if any."""
    try:
        tracker.finish_run(record["mlflow_run_id"], **closing(record))
        return None
    except Exception as error:
        warn(record, describe(error))
        return describe(error)


def repair(tracker: Tracker, record: dict) -> bool:
    """Logs again, from the record, a trial whose tracking failed: opens its run if it has none, adds
    the epochs of its curves the store lacks, and closes it. True when the store now holds it."""
    try:
        run_id = record["mlflow_run_id"] or tracker.start_trial(
            record["stage"], record["trial_id"], opening_tags(record)
        )
        tracker.log_missing_steps(run_id, record["curves"])
        tracker.finish_run(run_id, **closing(record))
        return True
    except Exception as error:
        warn(record, describe(error))
        return False
