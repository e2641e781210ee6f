"""What a person asks of a run's results folder: how far it is (`layerwise status`), what it found
(`layerwise best`), and how two runs differ (`layerwise compare`). Reads only the files the workflow
writes, so it answers in a moment, for a run on this machine or on a cluster's shared file system.
"""

import json
import re
from pathlib import Path

from layerwise.errors import UserError
from layerwise.files import read_json
from layerwise.status import Status
from layerwise.track.progress import read_round, rounds_of


class NoResults(UserError, ValueError):
    """The folder holds no run's results."""


def results_folder(path: str | None) -> Path:
    """`path` (results/<experiment>), or the one experiment under ./results."""
    if path:
        folder = Path(path)
        if not (folder / "tracking.json").exists() and not (folder / "summary.json").exists():
            raise NoResults(f"{folder}: not the results of a run (results/<experiment>)")
        return folder
    found = sorted(folder.parent for folder in Path("results").glob("*/tracking.json"))
    if len(found) != 1:
        listed = ", ".join(str(folder) for folder in found) or "none"
        raise NoResults(f"name the run's results folder: results/<experiment> (found: {listed})")
    return found[0]


def stage_order(name: str) -> tuple:
    layer = re.fullmatch(r"layer(\d+)", name)
    return (0, 0) if name == "preprocess" else (1, int(layer[1])) if layer else (2, 0)


def stages(folder: Path, plan: dict) -> list[str]:
    """The stages planned, in order, and any other that has started."""
    found = {path.parent.name for path in folder.glob("*/tracking.json")}
    return plan["order"] + sorted(found - set(plan["order"]), key=stage_order)


def number(value, digits: int = 4) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def status(folder: Path) -> str:
    """Per stage and round: trials ended, failed, running and left, and the best objective so far; an
    estimate of the time the whole run still needs, as far as the trials so far tell; whether it ended."""
    plan = read_plan(folder)
    rows, seconds, untimed = [("stage", "round", "finished", "failed", "running", "left", "best")], 0.0, []
    for stage in stages(folder, plan):
        shards = folder / stage / "shards"
        started = rounds_of(shards)
        if not started:
            rows.append((stage, "-", "", "", "", "", "waiting"))
            untimed.append(stage)
        progress = None
        for round_ in started:
            progress = read_round(shards, round_)
            left = "?" if progress.left is None else str(progress.left)
            counts = (
                str(progress.count(Status.FINISHED)),
                str(progress.count(Status.FAILED)),
                str(len(progress.running)),
                left,
            )
            rows.append((stage, str(round_), *counts, number(progress.best)))
            if progress.running or progress.left:
                seconds += progress.seconds_left() or 0.0
        if progress is not None and stage in plan["rounds"]:  # the rounds to come, at the pace of the last
            seconds += max(plan["rounds"][stage] - len(started), 0) * progress.round_seconds()
    lines = [f"{folder}", *aligned(rows)]
    if (folder / "summary.json").exists():
        summary = read_summary(folder)
        lines.append(f"ended: test accuracy {summary['test_accuracy']:.2%}; `layerwise best {folder}` says more")
    else:
        later = ", ".join([*untimed, f"the seed study ({plan['seeds']} networks and their twins)", "the evaluation"])
        timed = f"about {seconds:.0f} s left in the stages under way and their later rounds; " if seconds else ""
        lines.append(f"{timed}then {later}, not yet timed")
    return "\n".join(lines)


def read_plan(folder: Path) -> dict:
    """What the workflow planned when it started (plan.json): each stage's rounds, in order, and the seed
    study's size; a run made before the plan was written has only the stages it started."""
    if not (folder / "plan.json").exists():
        return {"order": [], "rounds": {}, "seeds": "?"}
    plan = read_run_file(folder, "plan.json", ("stages", "seeds"))
    return {
        "order": [stage["stage"] for stage in plan["stages"]],
        "rounds": {stage["stage"]: stage["rounds"] for stage in plan["stages"]},
        "seeds": plan["seeds"],
    }


def best(folder: Path) -> str:
    """The final model's figures, the selected configuration stage by stage, and where the figures are."""
    from layerwise.present.canvas import draws_something
    from layerwise.present.summary_page import REPORTED, configuration

    summary = read_summary(folder)
    selected = summary["selected"]
    widths = [layer["n_hidden"] for layer in selected["architecture"]["layers"]]
    network = (
        f"{len(widths)} hidden layers of {widths} units, "
        f"{'pretrained' if selected['pretrained'] else 'no pretraining'}, selected trial {summary['selected_trial']}"
    )
    baseline = summary["reported"] == "linear"  # then the search's network is not the model handed over
    figures = sorted(folder.glob("*.png")) + sorted(folder.glob("*/figures/*.png"))
    lines = [
        f"{summary['experiment']}: test accuracy {summary['test_accuracy']:.2%} ({REPORTED[summary['reported']]}), "
        f"validation error {summary['valid_error']:.4f}; logistic baseline {summary['baseline']['test_accuracy']:.2%}",
        f"the search's network, not the final model (validation could not tell it from the baseline): {network}"
        if baseline
        else f"network: {network}",
        "",
        "the search's selected configuration:" if baseline else "selected configuration:",
        *(configuration(step) for step in [selected["preprocessing"], *selected["layers"], selected["finetune"]]),
        "",
        f"model to use: {folder / 'model'}",
        "figures:",
        *(f"  {path}" for path in figures if draws_something(path)),
    ]
    return "\n".join(lines)


def compare(first: Path, second: Path) -> str:
    """Two runs' headline figures side by side, and the settings in which their configs differ."""
    from layerwise.files import flatten

    summaries = [read_summary(folder) for folder in (first, second)]
    configs = [flatten(read_run_file(folder, "provenance.json", ("config",))["config"]) for folder in (first, second)]
    rows = [
        ("", str(first), str(second)),
        *(
            (name, *(fmt(summary) for summary in summaries))
            for name, fmt in (
                ("test accuracy", lambda s: f"{s['test_accuracy']:.2%}"),
                ("validation error", lambda s: f"{s['valid_error']:.4f}"),
                ("final model", lambda s: s["reported"]),
                ("logistic baseline", lambda s: f"{s['baseline']['test_accuracy']:.2%}"),
                ("seed study test error", lambda s: f"{s['seed_study']['test_error_mean']:.4f} ± "
                 f"{s['seed_study']['test_error_std']:.4f}"),
                ("trials", lambda s: str(sum(stage["n_trials"] for stage in s["stages"].values()))),
                ("selected trial", lambda s: s["selected_trial"]),
            )
        ),
    ]  # fmt: skip
    keys = sorted(set(configs[0]) | set(configs[1]))
    differ = [
        (key, *(shown(config.get(key)) for config in configs))
        for key in keys
        if len({shown(c.get(key)) for c in configs}) > 1
    ]
    table = aligned(rows + differ)
    return "\n".join(
        [*table[: len(rows)], "", "config differences:" if differ else "the same config", *table[len(rows) :]]
    )


def aligned(rows: list[tuple[str, ...]]) -> list[str]:
    """Rows of cells as lines of left-aligned columns."""
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]))]
    return ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() for row in rows]


def shown(value) -> str:
    return "(unset)" if value is None else json.dumps(value) if not isinstance(value, str) else value


SUMMARY_KEYS = ("experiment", "test_accuracy", "valid_error", "reported", "baseline", "selected", "selected_trial",
                "seed_study", "stages")  # what best and compare read of a summary  # fmt: skip


def read_summary(folder: Path) -> dict:
    if not (folder / "summary.json").exists():
        raise NoResults(f"{folder}: no summary.json yet (the run has not ended; `layerwise status {folder}`)")
    return read_run_file(folder, "summary.json", SUMMARY_KEYS)


def read_run_file(folder: Path, name: str, keys: tuple[str, ...]) -> dict:
    """A run's JSON file that must hold `keys`; NoResults naming it when it is missing, truncated, or
    another program's."""
    path = folder / name
    try:
        content = read_json(path)
    except FileNotFoundError:
        raise NoResults(f"{path}: missing; the results folder is incomplete") from None
    except ValueError as error:
        raise NoResults(f"{path}: not readable JSON, perhaps cut short ({error})") from error
    missing = [key for key in keys if key not in content] if isinstance(content, dict) else list(keys)
    if missing:
        raise NoResults(f"{path}: not a {name} layerwise wrote (no {', '.join(missing)})")
    return content
