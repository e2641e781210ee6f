"""Which hyper-parameters a stage's objective depends on: each one's main effect, from the trials alone.

The importance of a hyper-parameter is the share of the objective's variance over the finished trials
that its value alone explains: the correlation ratio eta^2 of the objective grouped by the value
(numeric values in quantile bins of their search domain, choices by choice), adjusted for the number
of groups as R^2 is for the number of predictors, so that a hyper-parameter that explains no more than
chance scores 0. fANOVA's first-order importances (Optuna's default evaluator) estimate the same
share through a random forest; this needs no model, costs nothing, and is the same on every rerun.
Interactions are not counted: the shares need not sum to 1.
"""

import numpy as np

from layerwise.records import TrialRecord
from layerwise.search.space import Categorical, domain

BINS = 5


def main_effects(records: list[TrialRecord], space) -> dict[str, float]:
    """Each searched hyper-parameter's adjusted share of the objective's variance, largest first."""
    done = [record for record in records if record.finished]
    effects = {}
    for name in space.searched():
        having = [record for record in done if name in record.params]
        objective = np.array([record.objective for record in having], dtype=float)
        groups = grouped(space.distributions[name], [record.params[name] for record in having])
        effects[name] = adjusted_eta_squared(objective, groups)
    return dict(sorted(effects.items(), key=lambda item: -item[1]))


def grouped(distribution, values: list) -> np.ndarray:
    """A group number per value: its choice, or its quantile bin in the search domain."""
    if isinstance(distribution, Categorical):
        labels = [str(value) for value in values]
        return np.array([sorted(set(labels)).index(label) for label in labels])
    into = domain(distribution)[2]
    positions = np.array([into(value) for value in values], dtype=float)
    if len(positions) == 0:
        return np.array([], dtype=int)
    edges = np.unique(np.quantile(positions, np.linspace(0, 1, BINS + 1)[1:-1]))
    return np.searchsorted(edges, positions, side="right")


def adjusted_eta_squared(objective: np.ndarray, groups: np.ndarray) -> float:
    """1 - (within-group variance) / (total variance), each on its degrees of freedom; at least 0."""
    count, labels = len(objective), np.unique(groups)
    if count <= len(labels) or len(labels) < 2:
        return 0.0
    total = ((objective - objective.mean()) ** 2).sum()
    if total == 0:
        return 0.0
    within = sum(((objective[groups == g] - objective[groups == g].mean()) ** 2).sum() for g in labels)
    return max(0.0, float(1 - (within / (count - len(labels))) / (total / (count - 1))))
