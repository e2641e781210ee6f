"""summary.md: the run on one page a person reads in a terminal (the numbers come from summary.json)."""

import pandas as pd

from layerwise.border import describe


def value(number) -> str:
    return f"{number:.4g}" if isinstance(number, float) else str(number)


def configuration(step: dict) -> str:
    params = ", ".join(f"{name}={value(v)}" for name, v in sorted(step["params"].items()))
    return f"- {step['stage']} (`{step['trial_id']}`, objective {step['objective']:.4f}): {params}"


def render(summary: dict, table: pd.DataFrame) -> str:
    selected, study = summary["selected"], summary["seed_study"]
    arms = summary["pretraining_comparison"]
    lines = [
        f"# {summary['experiment']}",
        "",
        f"Test accuracy **{summary['test_accuracy']:.2%}** (test error {summary['test_error']:.4f}, validation error "
        f"{summary['valid_error']:.4f}), selected trial `{summary['selected_trial']}` "
        f"({'pretrained' if selected['pretrained'] else 'no pretraining'}).",
        "",
        f"Seed study: {len(study['seeds'])} seeds, test error {study['test_error_mean']:.4f} ± "
        f"{study['test_error_std']:.4f}; their ensemble {study['ensemble_test_error']:.4f}"
        + (f"; refit on train + valid {study['refit']['test_error']:.4f}." if "refit" in study else "."),
        "",
        "Pretraining against none (the best network of each arm): "
        + "; ".join(
            f"{arm.replace('_', ' ')}: valid {result['valid_error']:.4f}, test {result['test_error']:.4f}"
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
    lines += ["", "## Selected configuration", ""]
    lines += [configuration(step) for step in [selected["preprocessing"], *selected["layers"], selected["finetune"]]]
    failed = table[table.status != "FINISHED"]
    lines += ["", "## Failures", ""]
    lines += [f"- `{row.trial_id}`: {row.reason}" for row in failed.itertuples()] or ["none"]
    return "\n".join(lines) + "\n"
