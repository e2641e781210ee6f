"""A stage's spec: everything a shard, a selection or a refit needs to know of its stage, and nothing
from other stages. The workflow makes one per stage from the config (config/specs.py); init-stage
writes it to `<stage>/spec.json`, and the stage's jobs read it back (`read`): one type, one JSON form,
and one default per field."""

import json
from dataclasses import asdict, dataclass, field

from layerwise.files import check_fields


@dataclass(frozen=True)
class StageSpec:
    stage: str  # preprocess, layer<l> or finetune
    kind: str  # one of hyperparameters.STAGES
    config_key: str  # the config section it comes from, for messages
    seed: int
    strategy: dict  # the strategy's settings, without its number of rounds
    space: dict  # the search space, as the config gives it
    trials_per_parent: int
    shards: int
    parents: int  # the stacks of the previous stage it builds on (arms), 1 where there is none
    has_parent_stacks: bool
    top_k: int = 1  # what its selection keeps: a layer's K stacks; one pipeline, one network
    pack_size: int = 1  # consecutive trials a shard takes together, and which may train as one model
    no_pretraining_arm: bool = False  # fine-tuning: one more arm, without a pretrained stack
    allocation: str = "even"  # how rounds after the first share their trials among the arms (search/arms.py)
    readout: str | None = None  # preprocessing and layers: the read-out that scores them
    readout_ridge: float | None = None
    tie_hidden_units: bool = False  # layers above the first take the first's width
    distinct_parents: bool = False  # a layer's top K come from distinct parent stacks first
    patience: int | None = None  # fine-tuning: epochs without improvement before it stops
    checkpoint_after_s: float | None = None  # fine-tuning: when a trial starts saving its state each epoch
    halving: dict = field(default_factory=dict)  # fine-tuning: successive halving (search/halving.py)

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    def params(self) -> dict:
        """What the stage's MLflow run logs: the fields that apply to it."""
        return {key: value for key, value in asdict(self).items() if value is not None}


def from_dict(values: dict) -> StageSpec:
    """A spec from its JSON form; a field it does not know is an error, not a silently ignored key."""
    check_fields(StageSpec, values, "a stage spec")
    return StageSpec(**values)


def read(path: str) -> StageSpec:
    """A stage spec, as init-stage wrote it."""
    with open(path) as file:
        return from_dict(json.load(file))
