"""Trials: (stage, round, index) and everything that is a pure function of it.

A round's trials are laid out arm by arm: in round 0 arm a holds indices a*T .. a*T+T-1, where T is
`trials_per_parent` and the arm names the parent stack (its rank in the previous stage's top-K); a grid
brings its own size. Fine-tuning may add one more arm with no pretrained parent, and shares its later
rounds among the arms by their results (arms.py).
Shards take trials in packs of `pack_size` consecutive indices (pack p holds p*P .. p*P+P-1;
claims.py says which shard runs which), so sharding never changes what a trial is, nor which trials
may train together (packs/); the strategy (strategies.py) decides the hyper-parameters from the
earlier rounds.
"""

import math
from dataclasses import replace

from layerwise.records import TrialRecord
from layerwise.search import arms
from layerwise.search.halving import Halving, Rung, settle
from layerwise.seeding import derive_seed
from layerwise.stagespec import StageSpec


def arm_count(spec: StageSpec) -> int:
    return spec.parents + (1 if spec.no_pretraining_arm else 0)


def plan_round(
    spec: StageSpec, strategy, round_: int, history: list[TrialRecord], valid_rows: int
) -> list[TrialRecord]:
    """Every trial of a stage's round, in index order: at a bracket's first rung (every round, without
    halving) each arm's proposals, arm after arm, as many as its share (arms.py); at a later rung the
    trials the previous one keeps.

    `history` holds the records of the stage's earlier rounds; each arm sees only its own. `valid_rows`:
    how many rows a validation error is measured on.
    """
    halving = Halving.of(spec)
    rung = halving.rung(round_)
    if rung.rung > 0:
        return continued(spec, halving, rung, history)
    # The strategy's rounds are the brackets: it sees each trial once, as its last rung left it.
    brackets = [replace(record, round=halving.rung(record.round).bracket) for record in settle(history)]
    trials, stage = [], spec.stage
    per_arm = halving.proposals(spec.trials_per_parent, rung.bracket)
    allocation = arms.EVEN if rung.bracket == 0 else spec.allocation
    best = arm_bests(brackets)
    counts = arms.shares(allocation, arm_count(spec), per_arm, best, valid_rows, spec.pack_size)
    pretrained_arms = spec.parents if spec.has_parent_stacks else 0
    for arm, count in enumerate(counts):
        if not count:
            continue
        arm_history = [record for record in brackets if record.arm == arm]
        extended = tuple(strategy.extensions(rung.bracket, arm_history))
        for params in strategy.propose(rung.bracket, len(trials), count, arm_history):
            index = len(trials)
            trials.append(
                TrialRecord.planned(
                    stage,
                    round_,
                    index,
                    arm,
                    arm if arm < pretrained_arms else None,
                    derive_seed(spec.seed, stage, round_, index, "train"),
                    params,
                    extended=extended,
                    **halving_fields(params, halving, rung),
                )  # fmt: skip
            )
    return trials


def arm_bests(history: list[TrialRecord]) -> dict[int, float]:
    """Each arm's best objective among its finished trials."""
    best = {}
    for record in history:
        if record.finished:
            best[record.arm] = min(best.get(record.arm, math.inf), record.objective)
    return best


def halving_fields(params: dict, halving: Halving, rung: Rung) -> dict:
    """With halving, the rung a proposal trains at and the epochs it has trained when the rung ends."""
    return {"rung": rung.rung, "budget": halving.budget(params["max_epochs"], rung)} if halving.on else {}


def promoted(previous: list[TrialRecord], first: dict[int, int], halving: Halving, rung: int) -> list[TrialRecord]:
    """The records of the previous rung whose trials continue at `rung`: per arm the best
    `survivors(first[arm], rung)` finished ones (`rank_key`), in index order."""
    kept = []
    for arm in sorted({record.arm for record in previous}):
        finished = sorted((r for r in previous if r.arm == arm and r.finished), key=rank_key)
        kept += finished[: halving.survivors(first[arm], rung)]
    return sorted(kept, key=lambda record: record.index)


def continued(spec: StageSpec, halving: Halving, rung: Rung, history: list[TrialRecord]) -> list[TrialRecord]:
    """A later rung's trials: the best of the previous rung's, each going on from its saved state (and
    its run and time so far) to this rung's budget, with the id, seed and proposal it began with;
    packed by their place here."""
    first = {}
    for record in history:
        if record.round == rung.first_round:
            first[record.arm] = first.get(record.arm, 0) + 1
    previous = [record for record in history if record.round == rung.round - 1]
    trials = []
    for record in promoted(previous, first, halving, rung.rung):
        carried = {key: getattr(record, key) for key in ("mlflow_run_id", "duration_s", "state")}
        trials.append(
            TrialRecord.planned(
                spec.stage,
                rung.round,
                record.index,
                record.arm,
                record.parent_rank,
                record.seed,
                record.proposed,
                slot=len(trials),
                **halving_fields(record.proposed, halving, rung),
                **carried,
            )  # fmt: skip
        )
    return trials


def pack_of(trial: TrialRecord, pack_size: int) -> int:
    return (trial.index if trial.slot is None else trial.slot) // pack_size


def rank_key(record: TrialRecord) -> tuple:
    """How a stage ranks its finished trials: by objective, lower first; equal objectives (a validation
    error counts whole examples: on a small set many trials tie) by the fine-tuned validation loss
    where there is one, then by round and index, so the ranking never depends on the order records
    arrived in."""
    return record.objective, record.best_valid_loss, record.round, record.index
