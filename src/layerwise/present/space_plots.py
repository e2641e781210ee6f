"""Figures of a stage's search space: the objective against each hyper-parameter, the best so far,
parallel coordinates, each hyper-parameter's importance and a contour of the two that matter most."""

import itertools
import math

import numpy as np
from matplotlib.ticker import FixedLocator, FuncFormatter, MaxNLocator, NullFormatter, ScalarFormatter

from layerwise.present.canvas import BEST, empty, failed, finished, mark_failed, panels, plt, save
from layerwise.records import TrialRecord
from layerwise.search.space import Categorical, Interval, domain, to_unit
from layerwise.status import Status

BORDER_SHADE = {"color": "tab:red", "alpha": 0.12}
INNER_SHADE = {"color": "0.5", "alpha": 0.06}


def numeric_panel(axis, name: str, distribution: Interval, records: list[TrialRecord], warning: dict | None) -> None:
    """Objective against a numeric value, on the axis the value is searched in, with the interval's
    outer 10% shaded (red on the side the best value lies on when it is there)."""
    # A complement range (momentum) is searched in log(1 - x): drawn as 1 - x on a log axis, reversed.
    place = (lambda value: 1.0 - value) if distribution.complement else (lambda value: value)
    done = [record for record in finished(records) if name in record.params]
    axis.scatter([place(r.params[name]) for r in done], [r.objective for r in done], s=14, alpha=0.7)
    if done:
        best = min(done, key=lambda record: record.objective)
        axis.scatter(place(best.params[name]), best.objective, **BEST)
    mark_failed(axis, [place(r.params[name]) for r in failed(records) if name in r.params])
    low, high, _, out = domain(distribution)
    inner = place(out(low + 0.1 * (high - low))), place(out(high - 0.1 * (high - low)))
    bounds = place(distribution.low), place(distribution.high)
    side = warning["side"] if warning else None
    axis.axvspan(bounds[0], inner[0], **(BORDER_SHADE if side == "low" else INNER_SHADE))
    axis.axvspan(inner[1], bounds[1], **(BORDER_SHADE if side == "high" else INNER_SHADE))
    for bound in bounds:
        axis.axvline(bound, color="0.4", linestyle="--", linewidth=0.8)
    if distribution.log or distribution.complement:
        axis.set_xscale("log")
        if distribution.integer:  # 256, 512 rather than powers of ten, which a narrow range may not reach
            axis.xaxis.set_major_locator(MaxNLocator(nbins=4, integer=True))
            axis.xaxis.set_major_formatter(ScalarFormatter())
            axis.xaxis.set_minor_formatter(NullFormatter())
    if distribution.complement:
        axis.invert_xaxis()
        axis.set_xlabel(f"1 - {name}", fontsize="small")


def categorical_panel(axis, name: str, distribution: Categorical, records: list[TrialRecord]) -> None:
    """Objective per choice: a box over the finished trials and every trial as a jittered point."""
    choices = [str(choice) for choice in distribution.choices]
    jitter = np.random.default_rng(0)
    for position, choice in enumerate(choices):
        values = [r.objective for r in finished(records) if str(r.params.get(name, "")) == choice]
        if values:
            axis.boxplot([values], positions=[position], widths=0.5, showfliers=False)
            axis.scatter(position + jitter.uniform(-0.15, 0.15, len(values)), values, s=14, alpha=0.7, color="tab:blue")
        lost = [r for r in failed(records) if str(r.params.get(name, "")) == choice]
        mark_failed(axis, [position] * len(lost))
    axis.set_xticks(range(len(choices)), choices, rotation=20 if max(map(len, choices)) > 8 else 0, fontsize="small")
    axis.set_xlim(-0.6, len(choices) - 0.4)


def objective_by_hyperparameter(records: list[TrialRecord], space, warnings: list[dict], path: str, title: str) -> None:
    """One panel per searched hyper-parameter: validation objective against its value."""
    names = space.searched()
    if not names:
        empty(path, title, "nothing is searched in this stage: every hyper-parameter is fixed")
        return
    flagged = {warning["hyper_parameter"]: warning for warning in warnings}
    figure, axes = panels(len(names))
    for axis, name in zip(axes, names, strict=True):
        distribution = space.distributions[name]
        if isinstance(distribution, Categorical):
            categorical_panel(axis, name, distribution, records)
        else:
            numeric_panel(axis, name, distribution, records, flagged.get(name))
        on_border = name in flagged
        colour = "tab:red" if on_border else "black"
        axis.set_title(f"{name}{' (best on the border)' if on_border else ''}", color=colour)
        axis.set_ylabel("validation objective", fontsize="small")
    figure.suptitle(f"{title}: objective per hyper-parameter ({len(records)} trials, {len(failed(records))} failed)")
    save(figure, path)


def best_so_far(records: list[TrialRecord], path: str, title: str) -> None:
    """Every trial's objective in the order the strategy proposed them, and the best one so far."""
    ordered = sorted(records, key=lambda record: (record.round, record.index))
    figure, axis = plt.subplots(figsize=(6, 3.5))
    done = [(n, r.objective) for n, r in enumerate(ordered, start=1) if r.finished]
    if done:
        axis.scatter(*zip(*done, strict=True), s=12, color="0.6", label="trial")
    best, curve = math.inf, []
    for n, value in done:
        best = min(best, value)
        curve.append((n, best))
    if curve:
        axis.step(*zip(*curve, strict=True), where="post", color="tab:blue", label="best so far")
    mark_failed(axis, [n for n, r in enumerate(ordered, start=1) if r.status == Status.FAILED])
    starts = [n for n, (before, r) in enumerate(itertools.pairwise(ordered), start=2) if r.round != before.round]
    for start in starts:
        axis.axvline(start - 0.5, color="0.4", linestyle=":", linewidth=0.8)
    axis.set(xlabel="trials, in the order proposed" + (" (dotted: a new round)" if starts else ""))
    axis.set(ylabel="validation objective", title=f"{title}: best so far")
    axis.legend(fontsize="small")
    save(figure, path)


def search_position(distribution, value) -> float:
    """Where a value lies on its hyper-parameter's axis: 0 to 1 across the interval, in its search domain
    (outside for a value of a widened interval); a choice by its place in the list."""
    if isinstance(distribution, Categorical):
        choices = [str(choice) for choice in distribution.choices]
        return choices.index(str(value)) / max(len(choices) - 1, 1) if str(value) in choices else math.nan
    return to_unit(distribution, value)


def axis_labels(distribution) -> tuple[str, str]:
    """What the bottom and the top of a hyper-parameter's axis stand for."""
    if isinstance(distribution, Categorical):
        return str(distribution.choices[0]), str(distribution.choices[-1])
    return f"{distribution.low:.3g}", f"{distribution.high:.3g}"


def parallel_coordinates(records: list[TrialRecord], space, path: str, title: str) -> None:
    """Every finished trial as a line across the searched hyper-parameters and the objective, coloured
    by the objective (dark: best): where the good lines cross an axis is where to search next."""
    names, done = space.searched(), finished(records)
    if not names or len(done) < 2:
        empty(path, title, "fewer than 2 finished trials, or nothing searched: no lines to draw")
        return
    objectives = np.array([record.objective for record in done])
    low, high = objectives.min(), objectives.max()
    figure, axis = plt.subplots(figsize=(max(6.0, 1.3 * (len(names) + 1)), 4))
    colours = plt.get_cmap("viridis_r")
    for record in sorted(done, key=lambda r: -r.objective):  # the best drawn last, on top
        share = (record.objective - low) / (high - low) if high > low else 1.0
        ys = [search_position(space.distributions[n], record.params.get(n, math.nan)) for n in names]
        axis.plot(range(len(names) + 1), [*ys, 1 - share], color=colours(1 - share), alpha=0.7, linewidth=1)
    for position, name in enumerate(names):
        bottom, top = axis_labels(space.distributions[name])
        axis.axvline(position, color="0.3", linewidth=0.8)
        axis.text(position, -0.08, bottom, ha="center", va="top", fontsize="x-small")
        axis.text(position, 1.08, top, ha="center", va="bottom", fontsize="x-small")
    axis.axvline(len(names), color="0.3", linewidth=0.8)
    axis.text(len(names), -0.08, f"{high:.4g}", ha="center", va="top", fontsize="x-small")
    axis.text(len(names), 1.08, f"{low:.4g}", ha="center", va="bottom", fontsize="x-small")
    axis.set_xticks(range(len(names) + 1), [*names, "objective"], rotation=30, ha="right", fontsize="small")
    axis.set_yticks([])
    axis.set_ylim(-0.2, 1.2)
    axis.set_title(f"{title}: trials across the hyper-parameters (dark: best)")
    save(figure, path)


def importance(effects: dict[str, float], trials: int, path: str, title: str) -> None:
    """The share of the objective's variance each hyper-parameter explains alone (importance.py), from
    `trials` finished trials: stages of different sizes give estimates of different precision."""
    if not effects:
        empty(path, title, "nothing is searched in this stage: every hyper-parameter is fixed")
        return
    names = list(effects)[::-1]  # the largest on top
    figure, axis = plt.subplots(figsize=(6, 0.35 * len(names) + 1.2))
    axis.barh(names, [effects[name] for name in names], color="tab:blue")
    axis.set_xlim(0, max(1e-9, max(effects.values())) * 1.15)
    axis.set(xlabel="share of the objective's variance it explains alone (adjusted)")
    axis.set_title(f"{title}: importance, from {trials} finished trials")
    save(figure, path)


def contour(records: list[TrialRecord], space, effects: dict[str, float], path: str, title: str) -> None:
    """The objective over the two most important numeric hyper-parameters: the trials, and the surface
    interpolated between them (dark: best, as in the parallel coordinates). Axes run in the search
    domain (log where searched in log) and are labelled with the values; a hyper-parameter of a few whole
    values (a depth) gets no surface between them."""
    from matplotlib import tri

    numeric = [name for name in effects if isinstance(space.distributions[name], Interval)][:2]
    done = [r for r in finished(records) if all(name in r.params for name in numeric)]
    if len(numeric) < 2 or len(done) < 4:
        empty(path, title, "fewer than 2 numeric hyper-parameters searched, or fewer than 4 trials")
        return
    (first, second), objective = numeric, [record.objective for record in done]
    xs, ys = ([domain(space.distributions[n])[2](r.params[n]) for r in done] for n in numeric)
    figure, axis = plt.subplots(figsize=(5.5, 4.5))
    steps = [name for name in numeric if few_whole_values(space.distributions[name])]
    try:
        if not steps:
            filled = axis.tricontourf(tri.Triangulation(xs, ys), objective, levels=12, cmap="viridis", alpha=0.8)
            figure.colorbar(filled, ax=axis, label="validation objective")
    except (ValueError, RuntimeError):  # points on a line: no surface, the trials alone
        pass
    axis.scatter(xs, ys, c=objective, cmap="viridis", edgecolor="black", s=22)
    best = int(np.argmin(objective))
    axis.scatter(xs[best], ys[best], **BEST)
    for name, set_label, ticks in ((first, axis.set_xlabel, axis.xaxis), (second, axis.set_ylabel, axis.yaxis)):
        distribution = space.distributions[name]
        set_label(f"{name} (log scale)" if distribution.log or distribution.complement else name)
        ticks.set_major_locator(value_ticks(distribution))
        ticks.set_major_formatter(values_of(distribution))
    note = f"\nno surface: {' and '.join(steps)} takes a few whole values" if steps else ""
    axis.set_title(f"{title}: the two most important (dark: best){note}", fontsize="medium")
    save(figure, path)


def value_ticks(distribution: Interval):
    """Where an axis in the search domain has its ticks: at round values (1, 2, 5 times a power of ten
    on a log scale; whole numbers for an integer)."""
    if not (distribution.log or distribution.complement):
        return MaxNLocator(nbins=5, integer=distribution.integer)
    into = domain(distribution)[2]
    place = (lambda value: 1.0 - value) if distribution.complement else (lambda value: value)
    ends = sorted((place(distribution.low), place(distribution.high)))
    rounds = [m * 10.0**k for k in range(math.floor(math.log10(ends[0])), math.ceil(math.log10(ends[1])) + 1)
              for m in (1, 2, 5)]  # fmt: skip
    inside = [value for value in rounds if ends[0] <= value <= ends[1]]
    return FixedLocator([into(place(value)) for value in inside])


def values_of(distribution: Interval) -> FuncFormatter:
    """Tick labels of an axis in the search domain: the hyper-parameter's values there."""
    out = domain(distribution)[3]
    return FuncFormatter(lambda place, _: f"{out(place):.3g}")


def few_whole_values(distribution: Interval) -> bool:
    """An integer hyper-parameter of at most 10 values: between them a surface would show what no trial can be."""
    return distribution.integer and distribution.high - distribution.low <= 10
