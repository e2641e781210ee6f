"""A trial's record: what its shard writes of it to `<stage>/shards/r<round>-<shard>.json`, the
source of truth from which the next rounds, the selection, trials.csv, the figures and MLflow's repair
all read. Written (`write_shard`) and read (`read_shards`) here only."""

from typing import NotRequired, TypedDict

from layerwise.files import read_json, write_json


class TrialRecord(TypedDict):
    stage: str
    round: int  # the round it trained in (with halving, that of the rung the record is of)
    index: int
    trial_id: str  # the same at every rung: <stage>-r<the round it began in>-t<index>
    arm: int
    parent_rank: int | None  # the parent stack it trained on (None: no pretraining, or a first stage)
    parent_trial: str | None
    seed: int
    proposed: dict  # what the strategy proposed: what later rounds build on
    extended: list[str]  # how the strategy widened intervals for its round
    pack: str | None  # the pack it trained in with others, if any
    shard: int
    mlflow_run_id: str | None
    params: dict  # the hyper-parameters it trained with (resolved)
    status: str  # status.Status: FINISHED or FAILED; PRUNED once halving.settle has read the rungs
    reason: str | None  # why it failed
    objective: float | None  # its validation objective, lower is better
    metrics: dict
    curves: dict  # per epoch: train_loss, valid_loss (and valid_error when fine-tuning)
    duration_s: float
    weights: str | None  # where its trained model lies
    tracking_error: NotRequired[str]  # MLflow could not record it: the selection logs it again
    rung: NotRequired[int]  # with halving: the rung of its bracket this record is of,
    budget: NotRequired[int]  # the epochs it had trained when the rung ended,
    state: NotRequired[dict | None]  # and where it left its training state for the next rung (path, epoch, stopped)


def write_shard(path: str, stage: str, round_: int, shard: int, records: list[TrialRecord]) -> None:
    write_json(path, {"stage": stage, "round": round_, "shard": shard, "records": records})


def read_shard(path: str) -> list[TrialRecord]:
    return read_json(path)["records"]


def read_shards(paths: list[str]) -> list[TrialRecord]:
    """Every record of the shards' files, in round and index order: with halving, one per rung a trial
    trained (`halving.settle` makes one per trial of them)."""
    records = [record for path in paths for record in read_shard(path)]
    return sorted(records, key=lambda record: (record["round"], record["index"]))
