"""Figures of a run, as PNG files (matplotlib, no display needed).

Every figure reads trial records (shard.run_one) or selection files, never MLflow, so it can be drawn
again from the results folder alone. Failed trials are drawn as red crosses along the top edge, where
an objective they do not have would be.
"""

import itertools
import math

import matplotlib
import numpy as np

from layerwise.search.space import Categorical, Interval, domain, to_unit

matplotlib.use("Agg")
from matplotlib import pyplot as plt  # noqa: E402
from matplotlib.ticker import MaxNLocator, NullFormatter, ScalarFormatter  # noqa: E402

FAILED = {"marker": "x", "color": "tab:red", "label": "failed"}
BEST = {"marker": "*", "s": 120, "color": "gold", "edgecolor": "black", "zorder": 3, "label": "best"}
BORDER_SHADE = {"color": "tab:red", "alpha": 0.12}
INNER_SHADE = {"color": "0.5", "alpha": 0.06}


DPI = 150


def save(figure, path: str) -> None:
    figure.tight_layout()
    figure.savefig(path, dpi=DPI)
    plt.close(figure)


def panels(count: int, columns: int = 3, size: tuple = (3.8, 2.9)):
    """A figure with `count` panels in rows of `columns`; the spare ones hidden."""
    rows, columns = math.ceil(count / columns), min(count, columns)
    figure, axes = plt.subplots(rows, columns, figsize=(size[0] * columns, size[1] * rows), squeeze=False)
    for axis in axes.flat[count:]:
        axis.set_visible(False)
    return figure, list(axes.flat[:count])


def empty(path: str, title: str, message: str) -> None:
    figure, axis = plt.subplots(figsize=(5, 2))
    axis.axis("off")
    axis.text(0.5, 0.5, message, ha="center", va="center", wrap=True)
    axis.set_title(title)
    save(figure, path)


def finished(records: list[dict]) -> list[dict]:
    return [record for record in records if record["status"] == "FINISHED"]


def failed(records: list[dict]) -> list[dict]:
    return [record for record in records if record["status"] != "FINISHED"]


def mark_failed(axis, xs: list) -> None:
    if xs:
        axis.scatter(xs, [0.97] * len(xs), transform=axis.get_xaxis_transform(), **FAILED)


def numeric_panel(axis, name: str, distribution: Interval, records: list[dict], warning: dict | None) -> None:
    """Objective against a numeric value, on the axis the value is searched in, with the interval's
    outer 10% shaded (red on the side the best value lies on when it is there)."""
    # A complement range (momentum) is searched in log(1 - x): drawn as 1 - x on a log axis, reversed.
    place = (lambda value: 1.0 - value) if distribution.complement else (lambda value: value)
    done = [record for record in finished(records) if name in record["params"]]
    axis.scatter([place(r["params"][name]) for r in done], [r["objective"] for r in done], s=14, alpha=0.7)
    if done:
        best = min(done, key=lambda record: record["objective"])
        axis.scatter(place(best["params"][name]), best["objective"], **BEST)
    mark_failed(axis, [place(r["params"][name]) for r in failed(records) if name in r["params"]])
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


def categorical_panel(axis, name: str, distribution: Categorical, records: list[dict]) -> None:
    """Objective per choice: a box over the finished trials and every trial as a jittered point."""
    choices = [str(choice) for choice in distribution.choices]
    jitter = np.random.default_rng(0)
    for position, choice in enumerate(choices):
        values = [r["objective"] for r in finished(records) if str(r["params"].get(name, "")) == choice]
        if values:
            axis.boxplot([values], positions=[position], widths=0.5, showfliers=False)
            axis.scatter(position + jitter.uniform(-0.15, 0.15, len(values)), values, s=14, alpha=0.7, color="tab:blue")
        lost = [r for r in failed(records) if str(r["params"].get(name, "")) == choice]
        mark_failed(axis, [position] * len(lost))
    axis.set_xticks(range(len(choices)), choices, rotation=20 if max(map(len, choices)) > 8 else 0, fontsize="small")
    axis.set_xlim(-0.6, len(choices) - 0.4)


def objective_by_hyperparameter(records: list[dict], space, warnings: list[dict], path: str, title: str) -> None:
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


def best_so_far(records: list[dict], path: str, title: str) -> None:
    """Every trial's objective in the order the strategy proposed them, and the best one so far."""
    ordered = sorted(records, key=lambda record: (record["round"], record["index"]))
    figure, axis = plt.subplots(figsize=(6, 3.5))
    done = [(n, r["objective"]) for n, r in enumerate(ordered, start=1) if r["status"] == "FINISHED"]
    if done:
        axis.scatter(*zip(*done, strict=True), s=12, color="0.6", label="trial")
    best, curve = math.inf, []
    for n, value in done:
        best = min(best, value)
        curve.append((n, best))
    if curve:
        axis.step(*zip(*curve, strict=True), where="post", color="tab:blue", label="best so far")
    mark_failed(axis, [n for n, r in enumerate(ordered, start=1) if r["status"] != "FINISHED"])
    starts = [n for n, (before, r) in enumerate(itertools.pairwise(ordered), start=2) if r["round"] != before["round"]]
    for start in starts:
        axis.axvline(start - 0.5, color="0.4", linestyle=":", linewidth=0.8)
    axis.set(xlabel="trials, in the order proposed" + (" (dotted: a new round)" if starts else ""))
    axis.set(ylabel="validation objective", title=f"{title}: best so far")
    axis.legend(fontsize="small")
    save(figure, path)


def learning_curves(top: list[dict], path: str, title: str) -> None:
    """Training and validation curves per epoch of the top trials; a dotted line at each best epoch."""
    trained = [record for record in top if record.get("curves")]
    if not trained:
        empty(path, title, "no per-epoch training in these trials (algorithm none, or a preprocessing stage)")
        return
    has_error = any("valid_error" in record["curves"] for record in trained)
    figure, axes = panels(2 if has_error else 1, columns=2, size=(5, 3.5))
    colours = plt.get_cmap("tab10")
    for rank, record in enumerate(trained):
        colour, curves = colours(rank % 10), record["curves"]
        epochs = range(1, len(curves["train_loss"]) + 1)
        axes[0].plot(epochs, curves["train_loss"], color=colour, label=record["trial_id"])
        if "valid_loss" in curves:
            axes[0].plot(epochs, curves["valid_loss"], color=colour, linestyle="--")
        if has_error and "valid_error" in curves:
            axes[1].plot(epochs, curves["valid_error"], color=colour)
        best_epoch = record["metrics"].get("best_epoch")
        for axis in axes:
            axis.xaxis.set_major_locator(MaxNLocator(integer=True))
            if best_epoch:
                axis.axvline(best_epoch, color=colour, linestyle=":", linewidth=0.8)
    curves = [record["curves"].get(key, []) for record in trained for key in ("train_loss", "valid_loss")]
    if min(value for curve in curves for value in curve) > 0:  # on a linear axis the first epochs flatten the rest
        axes[0].set_yscale("log")
    axes[0].set(xlabel="epoch", ylabel="loss (solid: train, dashed: valid)", title=f"{title}: top {len(trained)}")
    axes[0].legend(fontsize="x-small")
    if has_error:
        axes[1].set(xlabel="epoch", ylabel="validation error", title="validation error")
    save(figure, path)


def arms(records: list[dict], path: str) -> None:
    """Fine-tuning with and without pretraining: every trial's validation error per arm."""
    groups = {
        "pretrained": [r["objective"] for r in finished(records) if r["parent_rank"] is not None],
        "no pretraining": [r["objective"] for r in finished(records) if r["parent_rank"] is None],
    }
    groups = {name: values for name, values in groups.items() if values}
    figure, axis = plt.subplots(figsize=(5, 3.5))
    jitter = np.random.default_rng(0)
    for position, values in enumerate(groups.values()):
        axis.boxplot([values], positions=[position], widths=0.5, showfliers=False)
        axis.scatter(position + jitter.uniform(-0.15, 0.15, len(values)), values, s=14, alpha=0.7)
        axis.annotate(f"best {min(values):.4f}", (position, min(values)), xytext=(8, -10), textcoords="offset points")
    axis.set_xticks(range(len(groups)), [f"{name}\n({len(values)} trials)" for name, values in groups.items()])
    axis.set_xlim(-0.6, len(groups) - 0.4)
    axis.set(ylabel="validation error", title="Fine-tuning: pretraining against none")
    save(figure, path)


def beam_layout(columns: list[tuple[str, list[dict]]], selected: list[str]) -> tuple[dict, list[tuple]]:
    """Where each node of the beam goes (column = stage, row = rank), and the edges (parent, child,
    on the selected lineage) that join a configuration to the one it grew from."""
    where = {node["trial_id"]: (x, -y) for x, (_, nodes) in enumerate(columns) for y, node in enumerate(nodes)}
    edges = [
        (node["parent_trial"], node["trial_id"], node["trial_id"] in selected)
        for _, nodes in columns
        for node in nodes
        if node.get("parent_trial") in where
    ]
    return where, edges


def beam(columns: list[tuple[str, list[dict]]], selected: list[str], path: str) -> None:
    """The top-K kept at each layer and the fine-tuning trials they led to, left to right; an edge
    joins a trial to the one it grew from, and the selected network's lineage is drawn in red.

    `columns` holds (stage, nodes) in stage order; a node has trial_id, objective and parent_trial.
    """
    where, edges = beam_layout(columns, selected)
    height = max(len(nodes) for _, nodes in columns)
    figure, axis = plt.subplots(figsize=(2.6 * len(columns) + 1, 0.8 * height + 1.5))
    for parent, child, chosen in edges:
        edge = {"color": "tab:red", "linewidth": 2.5} if chosen else {"color": "0.7", "linewidth": 1}
        axis.plot(*zip(where[parent], where[child], strict=True), **edge)
    last = len(columns) - 1
    for _, nodes in columns:
        for node in nodes:
            point = where[node["trial_id"]]
            axis.scatter(*point, s=60, color="tab:red" if node["trial_id"] in selected else "tab:blue", zorder=3)
            label = f"{node['trial_id'].split('-', 1)[-1]}\n{node['objective']:.4f}"
            if node.get("parent_trial") is None and point[0] == last > 0:
                label += "\n(no pretraining)"
            axis.annotate(label, point, xytext=(7, -4), textcoords="offset points", fontsize="x-small", va="top")
    axis.set_xticks(range(len(columns)), [stage for stage, _ in columns])
    axis.set_yticks([])
    axis.set_xlim(-0.3, len(columns) - 0.2)
    axis.set_ylim(-height + 0.4, 0.6)
    axis.set_ylabel("rank within the stage (best on top)")
    axis.set_title("The beam: top-K per layer, and what each grew from (red: the selected network)")
    for side in ("top", "right", "left"):
        axis.spines[side].set_visible(False)
    save(figure, path)


def seed_histogram(test_errors: list[float], ensemble_error: float, path: str) -> None:
    """Test error of the selected configuration over seeds, with the mean and the seed ensemble."""
    figure, axis = plt.subplots(figsize=(5, 3.5))
    axis.hist(test_errors, bins=max(3, len(test_errors) // 2), color="tab:blue", alpha=0.7, label="one seed each")
    mean = sum(test_errors) / len(test_errors)
    axis.axvline(mean, color="tab:blue", linestyle="--", label=f"mean {mean:.4f}")
    axis.axvline(ensemble_error, color="tab:red", label=f"ensemble {ensemble_error:.4f}")
    low, high = min(*test_errors, ensemble_error), max(*test_errors, ensemble_error)
    margin = 0.1 * (high - low) or 0.01
    axis.set_xlim(low - margin, high + margin)
    axis.yaxis.get_major_locator().set_params(integer=True)
    axis.set(xlabel="test error", ylabel="seeds", title=f"Seed study ({len(test_errors)} seeds)")
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


def parallel_coordinates(records: list[dict], space, path: str, title: str) -> None:
    """Every finished trial as a line across the searched hyper-parameters and the objective, coloured
    by the objective (dark: best): where the good lines cross an axis is where to search next."""
    names, done = space.searched(), finished(records)
    if not names or len(done) < 2:
        empty(path, title, "fewer than 2 finished trials, or nothing searched: no lines to draw")
        return
    objectives = np.array([record["objective"] for record in done])
    low, high = objectives.min(), objectives.max()
    figure, axis = plt.subplots(figsize=(max(6.0, 1.3 * (len(names) + 1)), 4))
    colours = plt.get_cmap("viridis_r")
    for record in sorted(done, key=lambda r: -r["objective"]):  # the best drawn last, on top
        share = (record["objective"] - low) / (high - low) if high > low else 1.0
        ys = [search_position(space.distributions[n], record["params"].get(n, math.nan)) for n in names]
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


def importance(effects: dict[str, float], path: str, title: str) -> None:
    """The share of the objective's variance each hyper-parameter explains alone (importance.py)."""
    if not effects:
        empty(path, title, "nothing is searched in this stage: every hyper-parameter is fixed")
        return
    names = list(effects)[::-1]  # the largest on top
    figure, axis = plt.subplots(figsize=(6, 0.35 * len(names) + 1.2))
    axis.barh(names, [effects[name] for name in names], color="tab:blue")
    axis.set_xlim(0, max(1e-9, max(effects.values())) * 1.15)
    axis.set(xlabel="share of the objective's variance it explains alone (adjusted)", title=f"{title}: importance")
    save(figure, path)


def contour(records: list[dict], space, effects: dict[str, float], path: str, title: str) -> None:
    """The objective over the two most important numeric hyper-parameters: the trials, and the surface
    interpolated between them (dark: best, as in the parallel coordinates)."""
    from matplotlib import tri

    numeric = [name for name in effects if isinstance(space.distributions[name], Interval)][:2]
    done = [r for r in finished(records) if all(name in r["params"] for name in numeric)]
    if len(numeric) < 2 or len(done) < 4:
        empty(path, title, "fewer than 2 numeric hyper-parameters searched, or fewer than 4 trials")
        return
    (first, second), objective = numeric, [record["objective"] for record in done]
    xs, ys = ([domain(space.distributions[n])[2](r["params"][n]) for r in done] for n in numeric)
    figure, axis = plt.subplots(figsize=(5.5, 4.5))
    try:
        filled = axis.tricontourf(tri.Triangulation(xs, ys), objective, levels=12, cmap="viridis", alpha=0.8)
        figure.colorbar(filled, ax=axis, label="validation objective")
    except (ValueError, RuntimeError):  # points on a line: no surface, the trials alone
        pass
    axis.scatter(xs, ys, c=objective, cmap="viridis", edgecolor="black", s=22)
    best = int(np.argmin(objective))
    axis.scatter(xs[best], ys[best], **BEST)
    axis.set_xlabel(domain_label(space.distributions[first], first))
    axis.set_ylabel(domain_label(space.distributions[second], second))
    axis.set_title(f"{title}: the two most important (dark: best)", fontsize="medium")
    save(figure, path)


def domain_label(distribution: Interval, name: str) -> str:
    """An axis drawn in a hyper-parameter's search domain."""
    return f"-log(1 - {name})" if distribution.complement else f"log {name}" if distribution.log else name
