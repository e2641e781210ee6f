"""The figures and top table of a stage, drawn from records alone, whatever the records hold."""

import math
from dataclasses import replace

import pandas as pd
import pytest
from matplotlib.image import imread
from tests.support.records import trial_record

from layerwise.present import space_plots, training_plots
from layerwise.present.canvas import draws_something
from layerwise.present.figures import STAGE_FIGURES, draw_stage, figure_paths, top_table
from layerwise.search.importance import main_effects
from layerwise.search.space import SearchSpace
from layerwise.stages import finetune
from layerwise.steps.selection import ranked
from support.specs import stage_spec

SPACE = {
    "learning_rate": {"type": "float", "low": 1e-3, "high": 0.1, "log": True},
    "momentum": {"type": "float", "low": 0.5, "high": 0.999, "complement": True},
    "max_epochs": {"type": "int", "low": 4, "high": 64, "log": True},
    "dropout": {"type": "float", "low": 0.0, "high": 0.5},
    "lr_schedule": {"type": "categorical", "choices": ["constant", "inverse_time", "inverse_time_epochs"]},
}


def record(index, objective, parent_rank=0, status="FINISHED", **params):
    values = {"learning_rate": 0.01, "momentum": 0.9, "max_epochs": 8, "dropout": 0.1, "lr_schedule": "constant"}
    curves = {"train_loss": [1.0, 0.8, 0.7], "valid_loss": [1.1, 0.9, 0.95], "valid_error": [0.5, 0.4, 0.45]}
    return trial_record(
        stage="finetune", round=index // 4, index=index, trial_id=f"finetune-r0-t{index:04d}",
        parent_rank=parent_rank, parent_trial=None if parent_rank is None else f"layer1-r0-t000{parent_rank}",
        params={**values, **params}, status=status, objective=objective if status == "FINISHED" else None,
        metrics={"best_epoch": 2} if status == "FINISHED" else {}, curves=curves if status == "FINISHED" else {},
    )  # fmt: skip


@pytest.fixture()
def records():
    return [
        record(0, 0.30),
        record(1, 0.25, learning_rate=0.0011, momentum=0.998, max_epochs=64),  # the best, on borders
        record(2, 0.40, parent_rank=None, lr_schedule="inverse_time"),
        record(3, None, status="FAILED", learning_rate=0.09, lr_schedule="inverse_time_epochs"),  # its only trial
        record(4, 0.35, parent_rank=None),
    ]


def is_png(path) -> bool:
    image = imread(path)
    return image.ndim == 3 and image.shape[0] > 100 and image.shape[1] > 100


def spec(kind="finetune", **extra):
    return stage_spec(stage="finetune", kind=kind, space=SPACE, **extra)


def test_a_stage_draws_exactly_the_figures_the_workflow_declares(tmp_path, records):
    space = SearchSpace(SPACE, finetune.DEFAULTS)
    order = ranked(records, "finetune")
    warnings = [{"hyper_parameter": "learning_rate", "side": "low"}]
    effects = main_effects(records, space)
    draw_stage(spec(), records, order, space, warnings, effects, str(tmp_path / "figures"))
    drawn = sorted(path.name for path in (tmp_path / "figures").iterdir())
    assert drawn == sorted(f"{name}.png" for name in STAGE_FIGURES["finetune"])
    assert all(is_png(path) for path in figure_paths("finetune", str(tmp_path / "figures")).values())


def test_the_top_table_lists_the_best_trials_best_first_with_their_hyper_parameters(tmp_path, records):
    order = ranked(records, "finetune")
    top_table(spec(kind="pretrain", top_k=3), order, str(tmp_path / "top.csv"))
    table = pd.read_csv(tmp_path / "top.csv")
    assert list(table.trial_id) == ["finetune-r0-t0001", "finetune-r0-t0000", "finetune-r0-t0004"]
    assert list(table["rank"]) == [0, 1, 2] and table.objective.is_monotonic_increasing
    assert table.learning_rate[0] == pytest.approx(0.0011)


def test_a_stage_where_nothing_is_searched_or_trained_per_epoch_still_gets_its_figures(tmp_path, records):
    fixed = SearchSpace({}, finetune.DEFAULTS)
    untrained = [replace(r, curves={}) for r in records]
    space_plots.objective_by_hyperparameter(untrained, fixed, [], str(tmp_path / "objective.png"), "finetune")
    training_plots.learning_curves(untrained, str(tmp_path / "curves.png"), "finetune")
    training_plots.arms([r for r in untrained if r.parent_rank is not None], str(tmp_path / "arms.png"))
    space_plots.parallel_coordinates(untrained, fixed, str(tmp_path / "parallel.png"), "finetune")
    space_plots.importance({}, 0, str(tmp_path / "importance.png"), "finetune")
    space_plots.contour(untrained, fixed, {}, str(tmp_path / "contour.png"), "finetune")
    names = ("objective.png", "curves.png", "arms.png", "parallel.png", "importance.png", "contour.png")
    assert all(is_png(tmp_path / name) for name in names)
    nothing = ("objective.png", "parallel.png", "importance.png", "contour.png")  # marked: `best` leaves them out
    assert [draws_something(tmp_path / name) for name in nothing] == [False] * 4


def drawn_figure(monkeypatch) -> list:
    """The figures a space plot would save, kept open to be read."""
    kept = []
    monkeypatch.setattr(space_plots, "save", lambda figure, path, metadata=None: kept.append(figure))
    return kept


def test_the_contour_is_labelled_in_values_and_draws_no_surface_between_a_few_whole_values(monkeypatch):
    kept = drawn_figure(monkeypatch)
    space = SearchSpace(
        {**SPACE, "hidden_layers": {"type": "int", "low": 0, "high": 4}}, finetune.DEFAULTS | {"hidden_layers": 1}
    )
    rates = [0.001, 0.003, 0.01, 0.03, 0.1, 0.002]
    trials = [record(i, 0.2 + 0.01 * i, learning_rate=rate, dropout=0.08 * i) for i, rate in enumerate(rates)]
    space_plots.contour(trials, space, {"learning_rate": 0.5, "dropout": 0.3}, "unused.png", "finetune")
    axis = kept[0].axes[0]
    assert axis.get_xlabel() == "learning_rate (log scale)" and axis.get_ylabel() == "dropout"
    assert axis.xaxis.get_major_formatter()(math.log(0.01), 0) == "0.01"  # the value, not its natural log
    assert len(kept[0].axes) == 2  # the surface's colour bar
    deep = [record(i, 0.2 + 0.01 * i, learning_rate=rate, hidden_layers=i % 5) for i, rate in enumerate(rates)]
    space_plots.contour(deep, space, {"learning_rate": 0.5, "hidden_layers": 0.3}, "unused.png", "finetune")
    assert (
        len(kept[1].axes) == 1 and "no surface: hidden_layers takes a few whole values" in kept[1].axes[0].get_title()
    )
    ticks = [axis.xaxis.get_major_formatter()(place, 0) for place in axis.xaxis.get_major_locator()()]
    assert ticks == ["0.001", "0.002", "0.005", "0.01", "0.02", "0.05", "0.1"]  # round values, log-spaced


def test_importance_says_from_how_many_trials(monkeypatch):
    kept = drawn_figure(monkeypatch)
    space_plots.importance({"learning_rate": 0.4, "dropout": 0.1}, 12, "unused.png", "layer1")
    assert kept[0].axes[0].get_title() == "layer1: importance, from 12 finished trials"


def test_the_beam_joins_each_configuration_to_the_one_it_grew_from(tmp_path):
    layer1 = [{"trial_id": "layer1-r0-t0002", "objective": 0.5, "parent_trial": None},
              {"trial_id": "layer1-r0-t0000", "objective": 0.6, "parent_trial": None}]  # fmt: skip
    layer2 = [{"trial_id": "layer2-r0-t0001", "objective": 0.45, "parent_trial": "layer1-r0-t0002"}]
    tuned = [{"trial_id": "finetune-r0-t0000", "objective": 0.3, "parent_trial": "layer2-r0-t0001"},
             {"trial_id": "finetune-r0-t0003", "objective": 0.35, "parent_trial": None}]  # fmt: skip
    columns = [("layer1", layer1), ("layer2", layer2), ("finetune", tuned)]
    selected = ["layer1-r0-t0002", "layer2-r0-t0001", "finetune-r0-t0000"]
    where, edges = training_plots.beam_layout(columns, selected)
    assert edges == [("layer1-r0-t0002", "layer2-r0-t0001", True), ("layer2-r0-t0001", "finetune-r0-t0000", True)]
    assert where["layer1-r0-t0002"] == (0, 0) and where["layer1-r0-t0000"] == (0, -1)  # best on top
    assert where["finetune-r0-t0003"] == (2, -1)  # no pretraining: a node with no edge
    training_plots.beam(columns, selected, str(tmp_path / "beam.png"))
    assert is_png(tmp_path / "beam.png")
