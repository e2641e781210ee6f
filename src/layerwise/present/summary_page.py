"""summary.md: the run on one page a person reads in a terminal (the numbers come from summary.json)."""

import pandas as pd

from layerwise.search.border import describe
from layerwise.stages.choice import SIMPLEST_FIRST
from layerwise.status import Status

REPORTED = {  # evaluate.report's candidates, as summary.md names them
    "single": "the search's best network",
    "member": "the seed study's first member",
    "ensemble": "the ensemble of the seed study's members",
    "linear": "the logistic baseline, a network with no hidden layer",
}


def value(number) -> str:
    return f"{number:.4g}" if isinstance(number, float) else str(number)


def configuration(step: dict) -> str:
    params = ", ".join(f"{name}={value(v)}" for name, v in sorted(step["params"].items()))
    return f"- {step['stage']} (`{step['trial_id']}`, objective {step['objective']:.4f}): {params}"


CANDIDATES = {  # stages/choice.py's candidates, in words
    "linear": "the logistic baseline",
    "member": "one network of the selected configuration",
    "ensemble": "the ensemble of the seed study's networks",
}


def why_chosen(choice: dict, reported: str) -> str:
    """The final model's choice in words: on which rows, each candidate's error there and how far it lies
    from the best."""
    errors, spread, best = choice["errors"], choice["standard_errors"], choice["best"]
    judged = "; ".join(
        f"{CANDIDATES[name]} {errors[name]:.4f}" + ("" if name == best else f" (± {spread[name]:.4f} from the best)")
        for name in SIMPLEST_FIRST
        if name in errors
    )
    rows = f"the {choice['rows']} " + (
        f"labelled rows, each judged by models cross-fitted without its fold ({choice['folds']} folds)"
        if choice["folds"]
        else "validation rows, which the judging models never trained on"
    )
    rule = (
        "the simplest within one paired standard error of the best"
        if choice["one_se_rule"]
        else "the best (one-standard-error rule off)"
    )
    return f"Final model chosen on {rows} ({judged}): {rule}, {reported}."


def render(summary: dict, table: pd.DataFrame) -> str:
    selected, study = summary["selected"], summary["seed_study"]
    arms, baseline, rows = summary["pretraining_comparison"], summary["baseline"], summary["rows"]
    labels = REPORTED | {"linear": f"{REPORTED['linear']}, C = {baseline['C']:g}"}
    lines = [
        f"# {summary['experiment']}",
        "",
        f"Test accuracy **{summary['test_accuracy']:.2%}** of the final model ({REPORTED[summary['reported']]}; "
        f"test error {summary['test_error']:.4f}); selected trial `{summary['selected_trial']}` "
        f"({'pretrained' if selected['pretrained'] else 'no pretraining'}, "
        f"validation error {summary['valid_error']:.4f}).",
        "",
        f"Data: {rows['train']} labelled training rows, {rows['valid']} validation rows and {rows['test']} test "
        f"rows; {rows['unlabelled']} rows without a label"
        + (", used only to fit the preprocessing and to pretrain the layers." if rows["unlabelled"] else "."),
        "",
        "| final model | test accuracy |",
        "|---|---|",
        *(
            f"| {labels[name]}{' (reported)' if name == summary['reported'] else ''} | {result['test_accuracy']:.2%} |"
            for name, result in summary["candidates"].items()
        ),
        "",
        why_chosen(summary["choice"], REPORTED[summary["reported"]]),
        "",
        f"Seed study: {len(study['seeds'])} seeds, test error {study['test_error_mean']:.4f} ± "
        f"{study['test_error_std']:.4f}; their ensemble {study['ensemble_test_error']:.4f}"
        + ("; each member a refit on train + valid." if all(member["refit"] for member in study["seeds"]) else "."),
        "",
        "Pretraining against none (the best network of each side, and its side's fine-tuning trials): "
        + "; ".join(
            f"{arm.replace('_', ' ')}: valid {result['valid_error']:.4f}, test {result['test_error']:.4f} "
            f"({result['trials']} trials)"
            for arm, result in arms.items()
            if result
        )
        + ".",
        "",
        "## Stages",
        "",
        "| stage | rounds | trials | failed | best objective | best trial | best values on the border |",
        "|---|---|---|---|---|---|---|",
    ]
    for stage in table.stage.unique():  # in stage order
        overview = summary["stages"][stage]
        lines.append(
            f"| {stage} | {overview['rounds']} | {overview['n_trials']} | {overview['n_failed']} "
            f"| {overview['best_objective']:.4f} | `{overview['best_trial']}` | {describe(overview['border'])} |"
        )
    for stage, overview in summary["stages"].items():
        if overview.get("halving"):
            cut = overview["halving"]
            lines += [
                "",
                f"Successive halving in {stage}: {cut['pruned']} of {overview['n_trials']} trials pruned; "
                f"{cut['epochs_trained']} epochs trained of the {cut['epochs_allowed']} their max_epochs allow "
                f"({1 - cut['epochs_trained'] / cut['epochs_allowed']:.0%} less).",
            ]
    lines += ["", "## Selected configuration", ""]
    lines += [configuration(step) for step in [selected["preprocessing"], *selected["layers"], selected["finetune"]]]
    failed = table[table.status == Status.FAILED]
    lines += ["", "## Failures", ""]
    lines += [f"- `{row.trial_id}`: {row.reason}" for row in failed.itertuples()] or ["none"]
    return "\n".join(lines) + "\n"
