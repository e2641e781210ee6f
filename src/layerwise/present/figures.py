"""What a stage's selection draws and tabulates: its figures (space_plots.py, training_plots.py) and
its top-K table."""

from pathlib import Path

from layerwise.records import TrialRecord
from layerwise.stagespec import StageSpec

# The figures of each kind of stage, by file name (without .png); the workflow declares them from here.
SEARCH_FIGURES = ("objective", "best_so_far", "parallel", "importance", "contour")
STAGE_FIGURES = {
    "preprocess": SEARCH_FIGURES,
    "pretrain": (*SEARCH_FIGURES, "learning_curves"),
    "finetune": (*SEARCH_FIGURES, "learning_curves", "arms", "rungs"),
}


FINETUNE_SHOWN = 5  # fine-tuning keeps one network; its curves and table show the best five


def shown(spec: StageSpec) -> int:
    """How many of a stage's best trials its learning curves and top table show: those it keeps, or
    fine-tuning's best five."""
    return FINETUNE_SHOWN if spec.kind == "finetune" else spec.top_k


def figure_paths(kind: str, folder: str) -> dict[str, str]:
    return {name: str(Path(folder) / f"{name}.png") for name in STAGE_FIGURES[kind]}


def draw_stage(
    spec: StageSpec,
    records: list[TrialRecord],
    order: list[TrialRecord],
    space,
    warnings: list[dict],
    effects: dict,
    folder: str,
) -> None:
    """Draws the stage's figures into `folder`; `order` holds the finished trials, best first, `effects`
    each hyper-parameter's importance."""
    from layerwise.present import space_plots, training_plots

    Path(folder).mkdir(parents=True, exist_ok=True)
    paths = figure_paths(spec.kind, folder)
    stage, top = spec.stage, order[: shown(spec)]
    space_plots.objective_by_hyperparameter(records, space, warnings, paths["objective"], stage)
    space_plots.best_so_far(records, paths["best_so_far"], stage)
    space_plots.parallel_coordinates(records, space, paths["parallel"], stage)
    finished = sum(record.finished for record in records)
    space_plots.importance(effects, finished, paths["importance"], stage)
    space_plots.contour(records, space, effects, paths["contour"], stage)
    if "learning_curves" in paths:
        training_plots.learning_curves(top, paths["learning_curves"], stage)
    if "arms" in paths:
        training_plots.arms(records, paths["arms"])
    if "rungs" in paths:
        training_plots.rungs(records, paths["rungs"], stage)


def top_table(spec: StageSpec, order: list[TrialRecord], path: str) -> None:
    """The best trials of a stage, one row each: rank, trial, objective, parent, hyper-parameters."""
    import pandas as pd  # here: Snakemake's own process reads STAGE_FIGURES

    rows = [
        {
            "rank": rank,
            "trial_id": record.trial_id,
            "objective": record.objective,
            "parent_trial": record.parent_trial,
            **record.params,
        }
        for rank, record in enumerate(order[: shown(spec)])
    ]
    pd.DataFrame(rows).to_csv(path, index=False)
