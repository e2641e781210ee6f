"""The kinds of stage (`StageKind`): the module that runs one trial of each, and a stage's search space."""

from typing import Protocol

import torch

from layerwise.learn.epochs import Watch
from layerwise.records import TrialRecord
from layerwise.search.space import SearchSpace
from layerwise.stages import finetune, preprocess, pretrain
from layerwise.stages.inputs import StageInputs
from layerwise.stagespec import StageSpec


class StageKind(Protocol):
    """What a shard asks of the module of a kind of stage (preprocess, pretrain and finetune are ones)."""

    ARTIFACT_SUFFIX: str  # of the file a trial's result is saved in
    DEFAULTS: dict  # every hyper-parameter it takes, with its default

    def resolve(self, trial: TrialRecord, inputs: StageInputs, spec: StageSpec) -> TrialRecord:
        """The trial with the hyper-parameters it actually trains with (those its shape or pipeline uses)."""

    def run_trial(
        self,
        trial: TrialRecord,
        inputs: StageInputs,
        spec: StageSpec,
        path: str,
        generator: torch.Generator,
        watch: Watch,
    ) -> dict:
        """Trains and scores one trial alone, saving its result at `path`: objective, metrics, history;
        its epochs reported to `watch`."""

    def pack_key(self, trial: TrialRecord, inputs: StageInputs) -> tuple | None:
        """What a resolved trial shares with those it may train with as one model; None: it trains alone."""


class PackingKind(StageKind, Protocol):
    """A kind whose trials can train together (pretrain, finetune): `pack_key` is not always None."""

    def run_pack(
        self, trials: list, inputs: StageInputs, spec: StageSpec, paths: list, listeners: list, checkpoints: list
    ) -> list:
        """`run_trial` of trials with one pack key, trained together; each one's result or error."""


KINDS: dict[str, StageKind] = {"preprocess": preprocess, "pretrain": pretrain, "finetune": finetune}


def stage_space(spec: StageSpec) -> SearchSpace:
    return SearchSpace(spec.space, KINDS[spec.kind].DEFAULTS, where=f"{spec.config_key}.space")
