"""Trials: (stage, round, index) and everything that is a pure function of it.

A stage's trials are laid out arm by arm: arm a holds indices a*T .. a*T+T-1, where T is
`trials_per_parent` and the arm names the parent stack (its rank in the previous stage's top-K).
Fine-tuning may add one more arm with no pretrained parent. A shard takes the indices equal to
its number modulo the shard count, so sharding never changes what a trial is.
"""

from dataclasses import dataclass

import numpy as np

from layerwise.seeding import derive_seed
from layerwise.space import SearchSpace


@dataclass(frozen=True)
class Trial:
    stage: str
    round: int
    index: int
    arm: int
    parent_rank: int | None  # None: trained on the raw (preprocessed) input, no pretrained stack
    seed: int
    params: dict

    @property
    def trial_id(self) -> str:
        return f"{self.stage}-r{self.round}-t{self.index:04d}"


def arm_count(spec: dict) -> int:
    return spec["parents"] + (1 if spec.get("no_pretraining_arm") else 0)


def plan_stage(spec: dict, space: SearchSpace) -> list[Trial]:
    """Every trial of a stage's round, in index order."""
    trials = []
    per_arm, stage, round_ = spec["trials_per_parent"], spec["stage"], spec.get("round", 0)
    pretrained_arms = spec["parents"] if spec.get("has_parent_stacks", True) else 0
    for index in range(arm_count(spec) * per_arm):
        arm = index // per_arm
        rng = np.random.default_rng(derive_seed(spec["seed"], stage, round_, index, "params"))
        trials.append(
            Trial(
                stage=stage,
                round=round_,
                index=index,
                arm=arm,
                parent_rank=arm if arm < pretrained_arms else None,
                seed=derive_seed(spec["seed"], stage, round_, index, "train"),
                params=space.sample(rng),
            )
        )
    return trials


def shard_trials(trials: list[Trial], shard: int, shards: int) -> list[Trial]:
    if not 0 <= shard < shards:
        raise ValueError(f"shard {shard} is outside 0..{shards - 1}")
    return [trial for trial in trials if trial.index % shards == shard]
