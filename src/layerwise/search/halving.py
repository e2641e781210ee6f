"""Successive halving and Hyperband (Jamieson & Talwalkar 2016; Li et al. 2018) as rounds of a stage.

A bracket is a run of successive halving: its first rung trains n configurations (proposed by the
stage's strategy) for a fraction of their `max_epochs`; each later rung continues, from their saved
training state, the best 1/eta of the previous rung's trials of each arm for eta times longer, and
the last rung reaches the full `max_epochs`. Each of a stage's strategy rounds is one bracket, and
each rung is one round of the DAG, so which trials a rung keeps is decided from the records of the
previous round only: the same cuts whatever the shards, cores or executor.

With `hyperband`, bracket b starts s = smax - (b mod (smax + 1)) rungs below the full budget
(smax = rungs - 1) and proposes ceil(N (smax + 1) eta^(s - smax) / (s + 1)) configurations per arm,
N being trials_per_parent: Li et al.'s brackets from the most aggressive to plain full-budget search,
cycled. Without it every bracket has `rungs` rungs and N configurations per arm.

A trial continued across rungs is one trial (one id, one MLflow run); one cut at a rung ends
PRUNED, with that rung, and never competes for the stage's best (`settle`).

Torch-free: the DAG's round count comes from here when Snakemake reads the workflow.
"""

import math
from dataclasses import dataclass, replace

from layerwise.records import TrialRecord
from layerwise.stagespec import StageSpec
from layerwise.status import Status


@dataclass(frozen=True)
class Rung:
    """Round `round` of a stage: rung `rung` of bracket `bracket`, whose first round is `first_round`
    and which climbs `above` rungs (its last rung: rung == above)."""

    round: int
    bracket: int
    rung: int
    above: int

    @property
    def first_round(self) -> int:
        return self.round - self.rung

    @property
    def last(self) -> bool:
        return self.rung == self.above


@dataclass(frozen=True)
class Halving:
    """The config's `finetune.halving` (its defaults: the schema's)."""

    rungs: int  # 1: no halving, every trial trains its full budget
    eta: float
    hyperband: bool

    @classmethod
    def of(cls, spec: StageSpec) -> "Halving":
        """A stage spec's halving; a stage without the setting has one rung (eta is then never used)."""
        return cls(**spec.halving) if spec.halving else cls(rungs=1, eta=2.0, hyperband=False)

    @property
    def on(self) -> bool:
        return self.rungs > 1

    def climb(self, bracket: int) -> int:
        """How many rungs above its first one bracket `bracket` climbs."""
        top = self.rungs - 1
        return top - bracket % (top + 1) if self.hyperband else top

    def schedule(self, brackets: int) -> list[Rung]:
        """Every round of a stage of `brackets` brackets, in order."""
        rungs = [(bracket, rung) for bracket in range(brackets) for rung in range(self.climb(bracket) + 1)]
        return [
            Rung(round=round_, bracket=bracket, rung=rung, above=self.climb(bracket))
            for round_, (bracket, rung) in enumerate(rungs)
        ]

    def rounds(self, brackets: int) -> int:
        return len(self.schedule(brackets))

    def rung(self, round_: int) -> Rung:
        """What round `round_` is (every bracket has a round, so round_ + 1 brackets reach it)."""
        return self.schedule(round_ + 1)[round_]

    def proposals(self, per_arm: int, bracket: int) -> int:
        """Configurations an arm proposes at a bracket's first rung."""
        if not self.hyperband:
            return per_arm
        top, climb = self.rungs - 1, self.climb(bracket)
        return math.ceil(per_arm * (top + 1) * self.eta ** (climb - top) / (climb + 1))

    def survivors(self, first: int, rung: int) -> int:
        """Of an arm's `first` configurations, how many train at `rung`."""
        return max(1, math.floor(first / self.eta**rung + 1e-9))

    def budget(self, max_epochs: int, rung: Rung) -> int:
        """The epochs a trial of `max_epochs` has trained when `rung` ends."""
        return max(1, math.ceil(max_epochs / self.eta ** (rung.above - rung.rung) - 1e-9))


def settle(records: list[TrialRecord]) -> list[TrialRecord]:
    """One record per trial: that of the last rung it trained, PRUNED when it was cut there (the next
    rung of its bracket ran without it); in the order the trials began. Records without rungs stay as they are."""
    last = {record.began: record for record in records}  # records come in round order (read_shards)
    rungs_run = {(*record.began[:2], record.rung) for record in records if record.halving}

    def cut(record: TrialRecord) -> bool:
        return record.halving and record.finished and (*record.began[:2], record.rung + 1) in rungs_run

    settled = [replace(record, status=Status.PRUNED) if cut(record) else record for record in last.values()]
    return sorted(settled, key=lambda record: record.began)
