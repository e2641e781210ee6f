"""Search strategies (Bengio 2012, sections 3.3-3.4): what each round of a stage tries.

A strategy is a small object, seeded in its constructor, with no hidden state: `propose` rebuilds
whatever it needs from the records of earlier rounds, so a trial's hyper-parameters depend only on
(seed, stage, round, index, earlier results), never on sharding or job order. Proposals are made per
arm (per parent stack), from that arm's own history. Failed trials are tolerated: they count as
tried but never as best, and an arm with no finished trial starts over as in round 0.

- random: independent draws per hyper-parameter, one seeded generator per trial index.
- grid: every combination of `grid` points per numeric hyper-parameter (evenly spaced, in the log
  domain for log-scaled ones) and every choice of a categorical one; one round.
- multires: a grid per round, centred on the best configuration so far, its span multiplied by
  `shrink` each round; `coordinates` may restrict each round to some hyper-parameters (cycled).
- coordinate: round 0 is random; each later round varies one hyper-parameter from the best so far,
  revisiting the `sensitive` one (the learning rate by default) every other round.
- tpe: Optuna's TPE sampler through ask/tell, refit on all earlier rounds at each round; an arm with
  fewer than `startup_trials` earlier trials draws at random.

With `extend_on_border`, the adaptive strategies widen an interval past the end on which an earlier
round's best configuration lay (by `extend_factor`, within the hyper-parameter's `widest`: what still
trains), and say so in `extensions`.
"""

import dataclasses
import itertools
import math

import numpy as np

from layerwise.hyperparameters import TABLE
from layerwise.records import TrialRecord
from layerwise.search.border import side_of
from layerwise.search.space import Categorical, Fixed, Interval, SearchSpace, domain, from_unit, to_unit
from layerwise.search.trials import rank_key
from layerwise.seeding import derive_seed
from layerwise.status import Status

DEFAULT_POINTS = 3


@dataclasses.dataclass(frozen=True)
class Settings:
    """A stage's `strategy` config: what each key means is the schema's (workflow/schemas), and so are
    its defaults (tests/unit/test_strategies.py checks that they agree)."""

    name: str = "random"
    rounds: int = 1
    grid: dict = dataclasses.field(default_factory=dict)  # name -> points, a count or a list of values
    shrink: float = 0.5
    coordinates: list = dataclasses.field(default_factory=list)  # of lists of names
    startup_trials: int = 10
    sensitive: str = "learning_rate"
    extend_on_border: bool = False
    extend_factor: float = 2.0


def axis(distribution, points: int, centre: float = 0.5, span: float = 1.0) -> list:
    """Values along one hyper-parameter: `points` evenly spaced positions over `span` (a fraction of
    the interval) around `centre`, shifted to stay inside; all choices of a categorical."""
    if isinstance(distribution, Fixed):
        return [distribution.value]
    if isinstance(distribution, Categorical):
        return list(distribution.choices)
    low = min(max(centre - span / 2, 0.0), 1.0 - span)
    positions = [low + span / 2] if points == 1 else np.linspace(low, low + span, points)
    return list(dict.fromkeys(from_unit(distribution, float(p)) for p in positions))  # integers may coincide


def widen(distribution: Interval, side: str, factor: float, limits: tuple[float, float]) -> Interval:
    """The interval stretched past its `side` end to `factor` times its length (in the search
    domain), within `limits`; integers are rounded outwards."""
    low, high, _, out = domain(distribution)
    stretch = (high - low) * (factor - 1)
    if side == "low":
        bound = max(out(low - stretch), limits[0])
        return dataclasses.replace(distribution, low=float(np.floor(bound)) if distribution.integer else bound)
    bound = min(out(high + stretch), limits[1])
    return dataclasses.replace(distribution, high=float(np.ceil(bound)) if distribution.integer else bound)


def best_params(history: list[TrialRecord]) -> dict | None:
    """The proposal of the best finished trial, as a stage ranks them (`trials.rank_key`)."""
    done = [record for record in history if record.finished]
    return min(done, key=rank_key).proposed if done else None


class Strategy:
    """Proposes one round of an arm's configurations.

    `propose(round_, first_index, budget, history)` returns the arm's configurations for the round,
    to be numbered from `first_index`; `budget` is the stage's trials_per_parent (a grid brings its
    own size), `history` the arm's records of earlier rounds.
    """

    adaptive = False

    def __init__(self, space: SearchSpace, seed: int, stage: str, settings: Settings):
        self.space, self.seed, self.stage, self.settings = space, seed, stage, settings

    def propose(self, round_: int, first_index: int, budget: int, history: list[TrialRecord]) -> list[dict]:
        raise NotImplementedError

    def first_round_size(self, budget: int) -> int:
        """How many configurations round 0 proposes: the budget (a grid: its own size)."""
        return budget

    def random(self, round_: int, index: int) -> dict:
        rng = np.random.default_rng(derive_seed(self.seed, self.stage, round_, index, "params"))
        return self.space.sample(rng)

    def intervals(self, round_: int, history: list[TrialRecord]) -> tuple[dict, list[str]]:
        """This round's distributions, and how they were widened: with extend_on_border, before each
        round r >= 1, every interval whose border holds the best of rounds < r grows past that border."""
        distributions, extensions = dict(self.space.distributions), []
        if not (self.adaptive and self.settings.extend_on_border):
            return distributions, extensions
        factor = self.settings.extend_factor
        for earlier in range(1, round_ + 1):
            best = best_params([record for record in history if record.round < earlier])
            for name, dist in distributions.items():
                widest = TABLE[name].widest
                if best is None or name not in best or widest is None or not isinstance(dist, Interval):
                    continue
                side = side_of(dist, best[name])
                wider = widen(dist, side, factor, widest) if side else dist
                if wider != dist:
                    distributions[name] = wider
                    extensions.append(f"round {earlier}: {name} to [{wider.low:g}, {wider.high:g}]")
        return distributions, extensions

    def extensions(self, round_: int, history: list[TrialRecord]) -> list[str]:
        return self.intervals(round_, history)[1]


class RandomSearch(Strategy):
    def propose(self, round_, first_index, budget, history):
        return [self.random(round_, index) for index in range(first_index, first_index + budget)]


class GridSearch(Strategy):
    def points(self, name: str):
        """The configured points of a hyper-parameter: a count, or explicit values."""
        return self.settings.grid.get(name, DEFAULT_POINTS)

    def axes(self, distributions: dict, centre: dict | None = None, span: float = 1.0, varied=()) -> dict:
        """Values per hyper-parameter: around `centre` (whole intervals without one); names not in
        `varied` stay at the centre."""
        axes = {}
        for name, distribution in distributions.items():
            given = self.points(name)
            if centre is not None and name in centre and name not in varied:
                axes[name] = [centre[name]]
            elif isinstance(given, list):
                axes[name] = list(given)
            elif centre is not None and name in centre and isinstance(distribution, Interval):
                axes[name] = axis(distribution, given, to_unit(distribution, centre[name]), span)
            else:
                axes[name] = axis(distribution, given)
        return axes

    def first_round_size(self, budget: int) -> int:
        return math.prod(len(values) for values in self.axes(self.space.distributions).values())

    def product(self, axes: dict) -> list[dict]:
        names = list(axes)
        return [dict(zip(names, values, strict=True)) for values in itertools.product(*axes.values())]

    def propose(self, round_, first_index, budget, history):
        return self.product(self.axes(self.space.distributions))


class MultiResolutionGrid(GridSearch):
    adaptive = True

    def coordinates(self, round_: int) -> list[str]:
        cycle = self.settings.coordinates or [self.space.searched()]
        return list(cycle[(round_ - 1) % len(cycle)])

    def propose(self, round_, first_index, budget, history):
        centre = best_params(history) if round_ > 0 else None
        if centre is None:
            return self.product(self.axes(self.space.distributions))
        distributions, _ = self.intervals(round_, history)
        span = self.settings.shrink**round_
        return self.product(self.axes(distributions, centre, span, self.coordinates(round_)))


class CoordinateDescent(Strategy):
    adaptive = True

    def coordinate(self, round_: int) -> str:
        """Round 1, 3, 5, ...: the sensitive hyper-parameter; rounds 2, 4, ...: the others in turn."""
        searched = self.space.searched()
        sensitive = self.settings.sensitive
        others = [name for name in searched if name != sensitive] or searched
        if sensitive in searched and round_ % 2 == 1:
            return sensitive
        return others[(round_ // 2 - (1 if sensitive in searched else 0)) % len(others)]

    def propose(self, round_, first_index, budget, history):
        centre = best_params(history) if round_ > 0 else None
        if centre is None or not self.space.searched():
            return [self.random(round_, index) for index in range(first_index, first_index + budget)]
        name = self.coordinate(round_)
        distributions, _ = self.intervals(round_, history)
        return [{**centre, name: value} for value in axis(distributions[name], budget)]


class TPE(Strategy):
    """Optuna's TPE sampler, rebuilt from the arm's history each round; `constant_liar` spreads the
    trials of one round (asked before any of them is told)."""

    adaptive = True

    @staticmethod
    def optuna_distributions(distributions: dict) -> dict:
        from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

        result = {}
        for name, dist in distributions.items():
            if isinstance(dist, Categorical):
                result[name] = CategoricalDistribution(dist.choices)
            elif isinstance(dist, Interval) and dist.complement:  # searched as 1 - x, log-uniform
                result[name] = FloatDistribution(1 - dist.high, 1 - dist.low, log=True)
            elif isinstance(dist, Interval) and dist.integer:
                result[name] = IntDistribution(int(dist.low), int(dist.high), log=dist.log)
            elif isinstance(dist, Interval):
                result[name] = FloatDistribution(dist.low, dist.high, log=dist.log)
        return result

    def internal(self, name: str, value):
        """Optuna's value of a hyper-parameter (1 - x for a complement one), and back: its own inverse."""
        dist = self.space.distributions[name]
        return 1 - value if isinstance(dist, Interval) and dist.complement else value

    def propose(self, round_, first_index, budget, history):
        import optuna

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        tpe_states = {Status.FINISHED: optuna.trial.TrialState.COMPLETE, Status.PRUNED: optuna.trial.TrialState.PRUNED}
        distributions = self.optuna_distributions(self.intervals(round_, history)[0])
        sampler = optuna.samplers.TPESampler(
            seed=derive_seed(self.seed, self.stage, round_, first_index, "tpe"),
            constant_liar=True,
            n_startup_trials=self.settings.startup_trials,
        )
        study = optuna.create_study(direction="minimize", sampler=sampler)
        for record in history:
            proposed = record.proposed
            params = {name: self.internal(name, proposed[name]) for name in distributions if name in proposed}
            state = tpe_states.get(record.status, optuna.trial.TrialState.FAIL)
            pruned = record.status == Status.PRUNED
            study.add_trial(
                optuna.trial.create_trial(
                    params=params,
                    distributions={name: distributions[name] for name in params},
                    value=record.objective if state == optuna.trial.TrialState.COMPLETE else None,
                    state=state,
                    # a pruned trial ranks after the complete ones, by the budget it reached, then its error
                    intermediate_values={record.budget: record.objective} if pruned else None,
                )
            )
        fixed = {name: dist.value for name, dist in self.space.distributions.items() if isinstance(dist, Fixed)}
        proposals = []
        for _ in range(budget):
            trial = study.ask(distributions)
            proposals.append({**fixed, **{name: self.internal(name, v) for name, v in trial.params.items()}})
        return proposals


STRATEGY_CLASSES = {
    "random": RandomSearch,
    "grid": GridSearch,
    "multires": MultiResolutionGrid,
    "coordinate": CoordinateDescent,
    "tpe": TPE,
}


def make_strategy(space: SearchSpace, seed: int, stage: str, settings: dict) -> Strategy:
    """`settings`: a stage's `strategy` config (keys left out take their defaults)."""
    typed = Settings(**settings)
    return STRATEGY_CLASSES[typed.name](space, seed, stage, typed)
