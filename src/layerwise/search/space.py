"""Search spaces: one distribution per hyper-parameter, sampled independently (random search).

A space is given as a mapping from name to either a plain value (fixed) or a distribution:
  {type: float, low, high, log}      uniform, or log-uniform when `log` is true
  {type: float, low, high, complement: true}  1 - x log-uniform (momentum near 1: 0.9, 0.99, 0.999 alike)
  {type: int, low, high, log}        integers in [low, high], optionally log-scaled
  {type: categorical, choices: [...]} one of the choices, uniformly
  {type: categorical, choices: [...], weights: [...]}  one of the choices, with these prior weights
A numeric range may replace its uniform draw by a user's prior, `prior: {mean, std}`: a normal
distribution in the domain the range is searched in (log x for log-scaled ones), truncated to the
range; `mean` is a value of the hyper-parameter, `std` a fraction of the range's width in that domain.
"""

import math
from dataclasses import dataclass, replace

import numpy as np

from layerwise.errors import UserError
from layerwise.schema import suggestion

DISTRIBUTION_TYPES = ("float", "int", "categorical")


class SpaceError(UserError, ValueError):
    """A search-space entry that cannot be sampled; the message names the key."""


@dataclass(frozen=True)
class Fixed:
    value: object

    def sample(self, rng: np.random.Generator):
        return self.value


@dataclass(frozen=True)
class Interval:
    low: float
    high: float
    log: bool = False
    integer: bool = False
    complement: bool = False  # log-uniform in 1 - x: for values close to 1, such as momentum
    prior_mean: float | None = None  # a normal prior instead of the uniform draw (see the module's docstring)
    prior_std: float = 0.25

    def sample(self, rng: np.random.Generator):
        if self.prior_mean is not None:
            centre = to_unit(self, self.prior_mean)
            while True:  # truncated to the range by rejection
                position = rng.normal(centre, self.prior_std)
                if 0.0 <= position <= 1.0:
                    return from_unit(self, position)
        if self.complement:
            return 1.0 - math.exp(rng.uniform(math.log(1.0 - self.high), math.log(1.0 - self.low)))
        if self.integer:
            # Widen by half a unit at each end so both bounds are as likely as inner values.
            low, high = self.low - 0.5, self.high + 0.5
        else:
            low, high = self.low, self.high
        if self.log:
            value = math.exp(rng.uniform(math.log(max(low, 1e-12)), math.log(high)))
        else:
            value = rng.uniform(low, high)
        if self.integer:
            return int(min(max(round(value), self.low), self.high))
        return float(value)


@dataclass(frozen=True)
class Categorical:
    choices: tuple
    weights: tuple | None = None  # prior weights (a multinomial); None: uniform

    def sample(self, rng: np.random.Generator):
        if self.weights is None:
            return self.choices[int(rng.integers(len(self.choices)))]
        probabilities = np.asarray(self.weights, dtype=float) / sum(self.weights)
        return self.choices[int(rng.choice(len(self.choices), p=probabilities))]


def domain(distribution: Interval):
    """The interval in the domain a hyper-parameter is searched in, with the maps into and out of it.

    Log-scaled: log x. Complement: -log(1 - x), which grows with x (momentum 0.9, 0.99, 0.999 evenly).
    """
    if distribution.complement:
        into, out = (lambda v: -math.log(1 - v)), (lambda u: 1 - math.exp(-u))
    elif distribution.log:
        into, out = math.log, math.exp
    else:
        into, out = float, float
    return into(distribution.low), into(distribution.high), into, out


def to_unit(distribution: Interval, value: float) -> float:
    """The position of `value` in its interval (0: low, 1: high), in its search domain."""
    low, high, into, _ = domain(distribution)
    return (into(value) - low) / (high - low) if high > low else 0.5


def from_unit(distribution: Interval, position: float):
    """The value at a position of the interval, rounded for integers and kept inside the interval."""
    low, high, _, out = domain(distribution)
    value = out(low + min(max(position, 0.0), 1.0) * (high - low))
    if distribution.integer:
        return int(min(max(round(value), distribution.low), distribution.high))
    return float(min(max(value, distribution.low), distribution.high))


def parse_distribution(key: str, spec):
    """Turn one config entry into a distribution, or raise SpaceError naming `key`."""
    if not isinstance(spec, dict):
        return Fixed(spec)
    kind = spec.get("type")
    if kind not in DISTRIBUTION_TYPES:
        raise SpaceError(f"{key}.type is {kind!r}; allowed values: {', '.join(DISTRIBUTION_TYPES)}")
    if kind == "categorical":
        choices, weights = spec.get("choices"), spec.get("weights")
        if not isinstance(choices, list) or not choices:
            raise SpaceError(f"{key}.choices must be a non-empty list")
        if weights is not None and (
            len(weights) != len(choices) or not all(isinstance(w, (int, float)) and w >= 0 for w in weights)
        ):
            raise SpaceError(f"{key}.weights: one weight >= 0 per choice ({len(choices)}), got {weights}")
        if weights is not None and sum(weights) <= 0:
            raise SpaceError(f"{key}.weights: at least one weight must be > 0")
        return Categorical(tuple(choices), tuple(weights) if weights is not None else None)
    low, high, log = spec.get("low"), spec.get("high"), bool(spec.get("log", False))
    complement = bool(spec.get("complement", False))
    for bound_name, bound in (("low", low), ("high", high)):
        if not isinstance(bound, (int, float)) or isinstance(bound, bool):
            raise SpaceError(f"{key}.{bound_name} must be a number, got {bound!r}")
    if low > high:
        raise SpaceError(f"{key}: low ({low}) must not exceed high ({high})")
    if log and low <= 0:
        raise SpaceError(f"{key}: a log-scaled range needs low > 0, got low={low}")
    if kind == "int" and (low != int(low) or high != int(high)):
        raise SpaceError(f"{key}: an int range needs integer bounds, got [{low}, {high}]")
    if complement and (kind != "float" or high >= 1):
        raise SpaceError(f"{key}: complement (log-uniform in 1 - x) needs a float range below 1, got high={high}")
    interval = Interval(float(low), float(high), log=log, integer=kind == "int", complement=complement)
    prior = spec.get("prior")
    if prior is None:
        return interval
    mean, std = prior.get("mean"), prior.get("std", 0.25)
    if not isinstance(mean, (int, float)) or not low <= mean <= high:
        raise SpaceError(f"{key}.prior.mean must be a number in [{low}, {high}], got {mean!r}")
    if not isinstance(std, (int, float)) or std <= 0:
        raise SpaceError(f"{key}.prior.std must be a number > 0 (a fraction of the range), got {std!r}")
    return replace(interval, prior_mean=float(mean), prior_std=float(std))


class SearchSpace:
    """Independent distributions over a fixed set of names, with defaults for names left out."""

    def __init__(self, spec: dict, defaults: dict, where: str = "space"):
        unknown = sorted(set(spec) - set(defaults))
        if unknown:
            hint, names = suggestion(unknown[0], defaults), ", ".join(sorted(defaults))
            raise SpaceError(f"{where}: unknown hyper-parameter {unknown[0]!r}{hint}; allowed: {names}")
        merged = {**defaults, **spec}
        self.distributions = {name: parse_distribution(f"{where}.{name}", merged[name]) for name in sorted(merged)}

    def searched(self) -> list[str]:
        """The names a search varies: every one that is not fixed."""
        return [name for name, dist in self.distributions.items() if not isinstance(dist, Fixed)]

    def sample(self, rng: np.random.Generator) -> dict:
        """One configuration; names are drawn in sorted order so adding a fixed name changes nothing else."""
        return {name: dist.sample(rng) for name, dist in self.distributions.items()}
