"""Figures of training: the top trials' learning curves, the trials of successive halving across its
rungs, fine-tuning with pretraining against none, the beam of kept stacks, and the seed study."""

import numpy as np
from matplotlib.ticker import MaxNLocator, NullFormatter

from layerwise.present.canvas import empty, finished, panels, plt, save
from layerwise.records import TrialRecord
from layerwise.status import Status


def learning_curves(top: list[TrialRecord], path: str, title: str) -> None:
    """Training and validation curves per epoch of the top trials; a dotted line at each best epoch."""
    trained = [record for record in top if record.curves]
    if not trained:
        empty(path, title, "no per-epoch training in these trials (algorithm none, or a preprocessing stage)")
        return
    has_error = any("valid_error" in record.curves for record in trained)
    figure, axes = panels(2 if has_error else 1, columns=2, size=(5, 3.5))
    colours = plt.get_cmap("tab10")
    for rank, record in enumerate(trained):
        colour, curves = colours(rank % 10), record.curves
        epochs = range(1, len(curves["train_loss"]) + 1)
        axes[0].plot(epochs, curves["train_loss"], color=colour, label=record.trial_id)
        if "valid_loss" in curves:
            axes[0].plot(epochs, curves["valid_loss"], color=colour, linestyle="--")
        if has_error and "valid_error" in curves:
            axes[1].plot(epochs, curves["valid_error"], color=colour)
        best_epoch = record.metrics.get("best_epoch")
        for axis in axes:
            axis.xaxis.set_major_locator(MaxNLocator(integer=True))
            if best_epoch:
                axis.axvline(best_epoch, color=colour, linestyle=":", linewidth=0.8)
    curves = [record.curves.get(key, []) for record in trained for key in ("train_loss", "valid_loss")]
    if min(value for curve in curves for value in curve) > 0:  # on a linear axis the first epochs flatten the rest
        axes[0].set_yscale("log")
    axes[0].set(xlabel="epoch", ylabel="loss (solid: train, dashed: valid)", title=f"{title}: top {len(trained)}")
    axes[0].legend(fontsize="x-small")
    if has_error:
        axes[1].set(xlabel="epoch", ylabel="validation error", title="validation error")
    save(figure, path)


def arms(records: list[TrialRecord], path: str) -> None:
    """Fine-tuning with and without pretraining: every trial's validation error per arm."""
    groups = {
        "pretrained": [r.objective for r in finished(records) if r.parent_rank is not None],
        "no pretraining": [r.objective for r in finished(records) if r.parent_rank is None],
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


def rungs(records: list[TrialRecord], path: str, title: str) -> None:
    """Successive halving: each trial's validation error per epoch across the rungs it trained, those
    that reached their bracket's last rung in colour, those cut at a lower one in grey ending in a
    cross; a dotted line at each rung's budget (epochs, on a log axis as the budgets grow by eta)."""
    trained = [record for record in records if record.halving and record.curves.get("valid_error")]
    if not trained:
        empty(path, title, "no successive halving in this stage (finetune.halving.rungs is 1)")
        return
    figure, axis = plt.subplots(figsize=(6.5, 4))
    colours = [colour for colour in plt.get_cmap("tab10").colors if len(set(colour)) > 1]  # no grey: grey is cut
    reached = 0
    for record in trained:
        errors = record.curves["valid_error"]
        epochs = range(1, len(errors) + 1)
        if record.status == Status.PRUNED:
            axis.plot(epochs, errors, color="0.75", linewidth=0.7)
            axis.scatter(len(errors), errors[-1], marker="x", color="0.45", s=14)
        else:
            axis.plot(epochs, errors, linewidth=1.2, color=colours[reached % len(colours)])
            reached += 1
    budgets = sorted({record.budget for record in trained})
    for budget in budgets:
        axis.axvline(budget, color="0.4", linestyle=":", linewidth=0.8)
    pruned = sum(record.status == Status.PRUNED for record in trained)
    axis.set_xscale("log")
    axis.set_xticks([1, *budgets], [str(epoch) for epoch in [1, *budgets]])
    axis.xaxis.set_minor_formatter(NullFormatter())
    axis.set(xlabel="epoch (dotted: the rungs' budgets)", ylabel="validation error")
    axis.set_title(f"{title}: {len(trained) - pruned} trials reached their last rung, {pruned} were pruned (grey)")
    save(figure, path)
