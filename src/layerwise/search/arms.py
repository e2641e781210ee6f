"""How a round's trials are shared among a stage's arms: the parent stacks it builds on, and
fine-tuning's network without pretraining.

`even` gives every arm the same number in every round. `race` (fine-tuning's default) does so in
round 0 only; each later round gives its trials to the arms still in the race: those whose best
validation error so far lies within one standard error of the leading arm's, sqrt(e (1 - e) / n) on
the n validation rows (at least 1 / n, so that a perfect score still has a margin). The round keeps its
size, so the stage costs about what it did, and the trials an arm out of the race would have had go to
the ones in it: each of them an equal share, cut to whole packs (so that a pack trains one arm), the
leader also what does not divide. Bengio (2012, 3.3) spends the budget where the results so far point;
an arm clearly behind after its first trials (on a validation set large enough to tell) seldom catches
up, and the one ahead gets the trials that refine it. Where every arm is in the race, the round is the
even one. On a small validation set a margin of one standard error still lets an arm drop out on noise,
and more trials on few rows can fit those rows rather than the task (benchmarks/README.md measures both).
"""

import math

EVEN, RACE = "even", "race"  # the choices are the schema's (finetune.allocation)


def standard_error(error: float, rows: int) -> float:
    """Of a validation error rate measured on `rows` rows, at least one row's worth."""
    return max(math.sqrt(error * (1 - error) / rows), 1 / rows)


def in_race(best: dict[int, float], rows: int) -> list[int]:
    """The arms whose best error (`best`: per arm with a finished trial) is within one standard error
    of the lowest; an arm without a finished trial is out, unless no arm has one."""
    if not best:
        return []
    lead = min(best.values())
    return sorted(arm for arm, error in best.items() if error <= lead + standard_error(lead, rows))


def shares(allocation: str, arms: int, per_arm: int, best: dict[int, float], rows: int, pack_size: int) -> list[int]:
    """How many trials each arm proposes in a round after the first (see the module's docstring)."""
    racing = in_race(best, rows) if allocation == RACE else []
    if not racing or len(racing) == arms:
        return [per_arm] * arms
    total, share = per_arm * arms, per_arm * arms // len(racing)
    if share >= pack_size:
        share -= share % pack_size
    counts = [share if arm in racing else 0 for arm in range(arms)]
    leader = min(racing, key=lambda arm: (best[arm], arm))
    counts[leader] += total - sum(counts)
    return counts
