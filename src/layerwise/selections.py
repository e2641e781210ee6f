"""What a stage's selection keeps (`<stage>/topk.json` of a layer, `<stage>/selected.json` of the
preprocessing and fine-tuning): written by steps/selection.py, read by the next stage, the seed study
and the evaluation. One type, one JSON form (`write_selection`, `read_selection`)."""

from dataclasses import asdict, dataclass, field, fields

from layerwise.files import check_fields, read_json, write_json
from layerwise.records import TrialRecord


@dataclass(frozen=True)
class Step:
    """One stage of a network's lineage: the trial that made that part of it."""

    stage: str
    trial_id: str
    params: dict
    objective: float | None

    @classmethod
    def of(cls, record: TrialRecord) -> "Step":
        return cls(record.stage, record.trial_id, record.params, record.objective)


def lineage_of(values: list[dict]) -> tuple[Step, ...]:
    return tuple(Step(**step) for step in values)


@dataclass(frozen=True)
class Chosen:
    """A selected trial: its record, and the lineage of trials it grew from (its own step last)."""

    record: TrialRecord
    lineage: tuple[Step, ...]

    @property
    def pretrained_layers(self) -> list[Step]:
        return [step for step in self.lineage if step.stage != self.record.stage]

    def to_json(self) -> dict:
        return {**self.record.to_json(), "lineage": [asdict(step) for step in self.lineage]}

    @classmethod
    def from_json(cls, values: dict | None) -> "Chosen | None":
        if values is None:
            return None
        record = {key: value for key, value in values.items() if key != "lineage"}
        return cls(TrialRecord.from_json(record), lineage_of(values.get("lineage", [])))


@dataclass(frozen=True)
class Kept:
    """One of the K stacks a layer keeps: the trial that made its top layer and the stack saved whole."""

    rank: int
    trial_id: str
    stack: str
    index: int = 0
    objective: float | None = None
    params: dict = field(default_factory=dict)
    parent_trial: str | None = None
    lineage: tuple[Step, ...] = ()

    def to_json(self) -> dict:
        return {**asdict(self), "lineage": [asdict(step) for step in self.lineage]}

    @classmethod
    def from_json(cls, values: dict) -> "Kept":
        return cls(**{**values, "lineage": lineage_of(values.get("lineage", []))})


@dataclass(frozen=True)
class Selection:
    """A stage's selection: what it keeps for the next steps (a layer's `entries`; a pipeline's or a
    network's `best`, and for fine-tuning the best on each side of the pretraining comparison) and
    what the summary says of the stage (rounds, trials, failures, border, importance, halving)."""

    stage: str
    entries: tuple[Kept, ...] = ()  # a layer's top K, best first
    best: Chosen | None = None
    ranking: tuple[Step, ...] = ()  # preprocessing: every candidate, best first
    best_pretrained: Chosen | None = None  # fine-tuning: each side's best, and how many finished trials it had
    best_no_pretraining: Chosen | None = None
    trials_pretrained: int = 0
    trials_no_pretraining: int = 0
    best_per_parent: tuple[dict, ...] = ()  # fine-tuning: what each parent stack led to at best (the beam figure)
    rounds: int = 0
    best_trial: str | None = None
    best_objective: float | None = None
    n_trials: int = 0
    n_failed: int = 0
    failed: tuple[dict, ...] = ()  # trial_id, reason, params
    border: tuple[dict, ...] = ()  # search/border.py's warnings
    extended: tuple[str, ...] = ()
    tracking_unrepaired: tuple[str, ...] = ()  # trials MLflow still lacks; their records hold them
    importance: dict = field(default_factory=dict)  # each hyper-parameter's share of the objective's variance
    halving: dict | None = None  # what successive halving cut (None without it)

    def to_json(self) -> dict:
        values = {spec.name: getattr(self, spec.name) for spec in fields(self)}
        values["entries"] = [entry.to_json() for entry in self.entries]
        values["ranking"] = [asdict(step) for step in self.ranking]
        for side in ("best", "best_pretrained", "best_no_pretraining"):
            values[side] = values[side].to_json() if values[side] else None
        return {key: list(value) if isinstance(value, tuple) else value for key, value in values.items()}

    @classmethod
    def from_json(cls, values: dict) -> "Selection":
        check_fields(cls, values, "a stage's selection")
        typed = {
            "entries": tuple(Kept.from_json(entry) for entry in values.get("entries", [])),
            "ranking": lineage_of(values.get("ranking", [])),
            **{side: Chosen.from_json(values.get(side)) for side in ("best", "best_pretrained", "best_no_pretraining")},
        }
        plain = {key: tuple(value) if isinstance(value, list) else value for key, value in values.items()}
        return cls(**{**plain, **typed})


def write_selection(path: str, selection: Selection) -> None:
    write_json(path, selection.to_json())


def read_selection(path: str) -> Selection:
    return Selection.from_json(read_json(path))
