"""A trial's record: what its shard writes of it to `<stage>/shards/r<round>-<shard>.json`, the
source of truth from which the next rounds, the selection, trials.csv, the figures and MLflow's repair
all read. One type through the trial's life: planned (PLANNED: what a round's plan makes of the
strategy's proposal, search/trials.py), opened (RUNNING, what is known before it trains), then ended
(`ended`: FINISHED or FAILED, with its results), PRUNED once halving has read the rungs. Its JSON form
is written (`write_shard`) and read (`read_shards`) here only."""

from dataclasses import asdict, dataclass, field, replace

from layerwise.files import check_fields, read_json, write_json
from layerwise.status import Status

HALVING_FIELDS = ("rung", "budget", "state")  # only a trial of a halving stage has them


@dataclass(frozen=True)
class TrialRecord:
    stage: str
    round: int  # the round it trained in (with halving, that of the rung the record is of)
    index: int
    trial_id: str  # the same at every rung: <stage>-r<the round it began in>-t<index>
    arm: int = 0
    parent_rank: int | None = None  # the parent stack it trained on (None: no pretraining, or a first stage)
    parent_trial: str | None = None
    seed: int = 0
    proposed: dict = field(default_factory=dict)  # what the strategy proposed: what later rounds build on
    extended: tuple[str, ...] = ()  # how the strategy widened intervals for its round
    pack: str | None = None  # the pack it trained in with others, if any
    shard: int = 0
    mlflow_run_id: str | None = None
    params: dict = field(default_factory=dict)  # the hyper-parameters it trained with (resolved)
    status: Status = Status.PLANNED
    reason: str | None = None  # why it failed
    objective: float | None = None  # its validation objective, lower is better
    metrics: dict = field(default_factory=dict)
    curves: dict = field(default_factory=dict)  # per epoch: train_loss, valid_loss (and valid_error when fine-tuning)
    duration_s: float = 0.0
    weights: str | None = None  # where its trained model lies
    tracking_error: str | None = None  # MLflow could not record it: the selection logs it again
    rung: int | None = None  # with halving: the rung of its bracket this record is of,
    budget: int | None = None  # the epochs it had trained when the rung ended,
    state: dict | None = None  # and its training state for the next rung (path, epoch, stopped): planned or
    # running above its bracket's first rung, the one it goes on from (with the run and the time it had so far)
    slot: int | None = None  # planned: its place in the round, where packs are cut (the index when None)

    @classmethod
    def planned(cls, stage: str, round_: int, index: int, arm: int, parent_rank: int | None, seed: int, params: dict,
                **more) -> "TrialRecord":  # fmt: skip
        """A trial of a round's plan, `params` the strategy's proposal; its id names the round it began in."""
        began = round_ - (more.get("rung") or 0)
        return cls(stage, round_, index, f"{stage}-r{began}-t{index:04d}", arm, parent_rank, None, seed, params,
                   params=params, **more)  # fmt: skip

    @property
    def continues(self) -> bool:
        """Planned or running above its bracket's first rung: it goes on from the state its last rung left."""
        return bool(self.rung) and self.status in (Status.PLANNED, Status.RUNNING)

    def trained_params(self) -> dict:
        """The hyper-parameters it trains with in its round: its max_epochs cut to the round's budget."""
        return self.params if self.budget is None else {**self.params, "max_epochs": self.budget}

    @property
    def finished(self) -> bool:
        return self.status == Status.FINISHED

    @property
    def halving(self) -> bool:
        return self.rung is not None

    @property
    def began(self) -> tuple[str, int, int]:
        """Who the trial is across rungs: its stage, the round it began in and its index there."""
        return self.stage, self.round - (self.rung or 0), self.index

    @property
    def best_valid_loss(self) -> float:
        """Fine-tuning's tie-break between equal validation errors (0 where there is none)."""
        return self.metrics.get("best_valid_loss", 0.0)

    def ended(self, **results) -> "TrialRecord":
        return replace(self, **results)

    def to_json(self) -> dict:
        """Its JSON form: the halving fields only where it has them, a tracking error only where there is one."""
        values = asdict(self)
        values["extended"] = list(self.extended)
        del values["slot"]
        for name in (*HALVING_FIELDS, "tracking_error"):
            if values[name] is None and not (self.halving and name in HALVING_FIELDS):
                del values[name]
        return values

    @classmethod
    def from_json(cls, values: dict) -> "TrialRecord":
        check_fields(cls, values, "a trial record")
        return cls(**{**values, "status": Status(values["status"]), "extended": tuple(values.get("extended", ()))})


def write_shard(path: str, stage: str, round_: int, shard: int, records: list[TrialRecord]) -> None:
    write_json(path, {"stage": stage, "round": round_, "shard": shard, "records": [r.to_json() for r in records]})


def read_shard(path: str) -> list[TrialRecord]:
    return [TrialRecord.from_json(values) for values in read_json(path)["records"]]


def read_shards(paths: list[str]) -> list[TrialRecord]:
    """Every record of the shards' files, in round and index order: with halving, one per rung a trial
    trained (`halving.settle` makes one per trial of them)."""
    records = [record for path in paths for record in read_shard(path)]
    return sorted(records, key=lambda record: (record.round, record.index))
