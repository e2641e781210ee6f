"""Best values on the border of their interval (Bengio 2012, section 3.3).

When the best value of a hyper-parameter lies near an end of the interval searched, the optimum may
lie beyond it: the interval should be widened. "Near" is the outer 10% of the interval, measured in
the domain it is searched in (log for log-scaled ones).
"""

from layerwise.records import TrialRecord
from layerwise.search.space import Interval, SearchSpace, to_unit

MARGIN = 0.1
COLUMNS = ("hyper_parameter", "side", "bound", "best_value", "top_k_on_border", "top_k")


def side_of(distribution: Interval, value) -> str | None:
    """ "low" or "high" when `value` lies in the outer MARGIN of the interval, else None."""
    if distribution.low == distribution.high:
        return None
    position = to_unit(distribution, value)
    return "low" if position <= MARGIN else "high" if position >= 1 - MARGIN else None


def numeric(space: SearchSpace) -> dict:
    return {name: dist for name, dist in space.distributions.items() if isinstance(dist, Interval)}


def border_warnings(space: SearchSpace, ranked: list[TrialRecord], top_k: int) -> list[dict]:
    """One warning per numeric hyper-parameter whose best trial's value lies on a border, with how
    many of the top K lie on the same side. `ranked` holds finished records, best first."""
    top = ranked[:top_k]
    warnings = []
    for name, distribution in numeric(space).items():
        if name not in ranked[0].params:  # not used by the best trial's algorithm or pipeline
            continue
        best = ranked[0].params[name]
        side = side_of(distribution, best)
        if side:
            on_side = sum(
                name in record.params and side_of(distribution, record.params[name]) == side for record in top
            )
            bound = distribution.low if side == "low" else distribution.high
            warnings.append(dict(zip(COLUMNS, (name, side, bound, best, on_side, len(top)), strict=True)))
    return warnings


def on_border(space: SearchSpace, params: dict) -> str:
    """The numeric hyper-parameters of one trial that lie on a border, as "name:side, ..."."""
    sides = ((name, side_of(dist, params[name])) for name, dist in numeric(space).items() if name in params)
    return ", ".join(f"{name}:{side}" for name, side in sides if side)


def describe(warnings: list[dict]) -> str:
    """A one-line tag value: "learning_rate at its low bound 0.001 (3 of top 3), ..." or "none"."""
    parts = [
        f"{w['hyper_parameter']} at its {w['side']} bound {w['bound']:g} ({w['top_k_on_border']} of top {w['top_k']})"
        for w in warnings
    ]
    return ", ".join(parts) or "none"
