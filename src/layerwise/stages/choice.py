"""Which model is final, chosen on evidence from rows the judging models never trained on.

The candidates, simplest first: the logistic baseline (`linear`), one network of the selected
configuration (`member`) and the ensemble of the seed study's networks (`ensemble`). Each is judged
on rows by twins that never trained on them. Where the members are refits on train + valid, their
twins are cross-fitted: the labelled rows (train, then valid) are cut into one fold per twin, and twin
i trains as its refit does (the same epochs, no early stopping) on every row outside fold i, the
baseline likewise with its C; every labelled row is then judged once, by a model that never saw it, so
the comparison rests on all the labelled rows instead of the validation split alone (which, with few
labels, is a few dozen rows where one row's luck decides). An ensemble is judged by its members one
row at a time, which never flatters it. Otherwise the twins are the search's kind of network, trained
on the training rows and judged on the validation rows. Of the candidates whose error is within one
standard error of the best one's, the simplest is chosen (the one-standard-error rule: Breiman et al.
1984; Hastie et al., ESL 7.10), or, without the rule, the best. The standard error is that of the
per-row difference of the two candidates on the same rows (a paired comparison: rows both get right
or both get wrong say nothing of which is better), and never below one row's worth (1/n): two
candidates that differ on no row are still one row apart at most, not infinitely far apart.
"""

import math

import numpy as np

SIMPLEST_FIRST = ("linear", "member", "ensemble")


def folds(labels: np.ndarray, count: int, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """(the rows a twin trains on, the rows it is judged on) for each of `count` folds of the labelled
    rows: stratified by class where every class has a row in each fold, else plain."""
    from sklearn.model_selection import KFold, StratifiedKFold

    stratified = np.unique(labels, return_counts=True)[1].min() >= count
    splitter = (StratifiedKFold if stratified else KFold)(count, shuffle=True, random_state=seed)
    return list(splitter.split(np.zeros(len(labels)), labels))


def paired_standard_error(wrong: np.ndarray, reference: np.ndarray) -> float:
    """The standard error of the mean per-row difference between two candidates' errors (0/1 per row),
    at least 1/n."""
    difference = wrong.astype(np.float64) - reference.astype(np.float64)
    rows = len(difference)
    spread = difference.std(ddof=1) / math.sqrt(rows) if rows > 1 else 0.0
    return max(spread, 1.0 / rows)


def choose(wrong: dict[str, np.ndarray], one_se_rule: bool) -> dict:
    """`wrong` maps candidates (names of SIMPLEST_FIRST) to whether their twins err on each row they are
    judged on (the same rows for all). Returns every candidate's error there and its paired standard
    error against the best one, the best, the chosen candidate and the number of rows."""
    names = [name for name in SIMPLEST_FIRST if name in wrong]
    errors = {name: float(np.mean(wrong[name])) for name in names}
    best = min(names, key=lambda name: errors[name])  # on ties the first, the simplest
    standard_errors = {name: paired_standard_error(wrong[name], wrong[best]) for name in names}
    within = [name for name in names if errors[name] <= errors[best] + standard_errors[name]]
    return {
        "errors": errors,
        "standard_errors": standard_errors,
        "best": best,
        "chosen": within[0] if one_se_rule else best,
        "one_se_rule": one_se_rule,
        "rows": len(wrong[best]),
    }
