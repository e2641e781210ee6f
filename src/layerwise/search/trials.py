"""Trials: (stage, round, index) and everything that is a pure function of it.

A round's trials are laid out arm by arm: with random search, arm a holds indices a*T .. a*T+T-1,
where T is `trials_per_parent` and the arm names the parent stack (its rank in the previous stage's
top-K); a grid brings its own size. Fine-tuning may add one more arm with no pretrained parent.
Shards take trials in packs of `pack_size` consecutive indices (pack p holds p*P .. p*P+P-1;
claims.py says which shard runs which), so sharding never changes what a trial is, nor which trials
may train together (packs/); the strategy (strategies.py) decides the hyper-parameters from the
earlier rounds.
"""

from dataclasses import dataclass

from layerwise.seeding import derive_seed


@dataclass(frozen=True)
class Trial:
    stage: str
    round: int
    index: int
    arm: int
    parent_rank: int | None  # None: trained on the raw (preprocessed) input, no pretrained stack
    seed: int
    params: dict
    extended: tuple[str, ...] = ()  # how the strategy widened intervals for this round (extend_on_border)

    @property
    def trial_id(self) -> str:
        return f"{self.stage}-r{self.round}-t{self.index:04d}"


def arm_count(spec: dict) -> int:
    return spec["parents"] + (1 if spec.get("no_pretraining_arm") else 0)


def plan_round(spec: dict, strategy, round_: int, history: list[dict]) -> list[Trial]:
    """Every trial of a stage's round, in index order: each arm's proposals, arm after arm.

    `history` holds the records of the stage's earlier rounds; each arm sees only its own.
    """
    trials = []
    stage, per_arm = spec["stage"], spec["trials_per_parent"]
    pretrained_arms = spec["parents"] if spec.get("has_parent_stacks", True) else 0
    for arm in range(arm_count(spec)):
        arm_history = [record for record in history if record["arm"] == arm]
        extended = tuple(strategy.extensions(round_, arm_history))
        for params in strategy.propose(round_, len(trials), per_arm, arm_history):
            index = len(trials)
            trials.append(
                Trial(
                    stage=stage,
                    round=round_,
                    index=index,
                    arm=arm,
                    parent_rank=arm if arm < pretrained_arms else None,
                    seed=derive_seed(spec["seed"], stage, round_, index, "train"),
                    params=params,
                    extended=extended,
                )
            )
    return trials


def pack_of(trial: Trial, pack_size: int) -> int:
    return trial.index // pack_size


def rank_key(record: dict) -> tuple:
    """How a stage ranks its finished trials: by objective, lower first; equal objectives (a validation
    error counts whole examples: on a small set many trials tie) by the fine-tuned validation loss
    where there is one, then by round and index, so the ranking never depends on the order records
    arrived in."""
    tie = record.get("metrics", {}).get("best_valid_loss", 0.0)
    return record["objective"], tie, record["round"], record["index"]
