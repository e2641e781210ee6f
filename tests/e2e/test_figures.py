"""What a researcher looks at after a run: each stage's figures and top table, on disk, on the stage's
MLflow run, and in the Snakemake report with their captions."""

import json
import re

import pandas as pd
import pytest
from mlflow.tracking import MlflowClient

from layerwise.present.figures import STAGE_FIGURES
from support.repo import REPO
from support.runner import snakemake

pytestmark = pytest.mark.e2e

KINDS = {"preprocess": "preprocess", "layer1": "pretrain", "layer2": "pretrain", "finetune": "finetune"}


def caption_start(name: str) -> str:
    """The first words of a caption, as the report renders them."""
    return " ".join((REPO / "workflow" / "report" / f"{name}.rst").read_text().split()[:6])


def test_each_stage_run_holds_its_figures_and_top_table(smoke_run):
    client = MlflowClient(smoke_run.tracking_uri)
    stages = {run.data.tags["layerwise.stage"]: run for run in smoke_run.mlflow_runs("tags.`layerwise.role` = 'stage'")}
    for stage, kind in KINDS.items():
        expected = {f"figures/{name}.png" for name in STAGE_FIGURES[kind]}
        logged = {artifact.path for artifact in client.list_artifacts(stages[stage].info.run_id, "figures")}
        assert logged == expected
        assert "top.csv" in {artifact.path for artifact in client.list_artifacts(stages[stage].info.run_id)}
        assert all((smoke_run.results / stage / path).stat().st_size > 5000 for path in expected)


def test_the_top_table_holds_the_kept_stacks_in_rank_order(smoke_run):
    kept = json.loads((smoke_run.results / "layer2" / "topk.json").read_text())["entries"]
    table = pd.read_csv(smoke_run.results / "layer2" / "top.csv")
    assert list(table.trial_id) == [entry["trial_id"] for entry in kept]
    assert list(table.parent_trial) == [entry["parent_trial"] for entry in kept]


def test_the_beam_follows_the_selected_network_down_from_layer_one(smoke_run):
    summary = json.loads((smoke_run.results / "summary.json").read_text())
    assert (smoke_run.results / "beam.png").stat().st_size > 5000
    evaluation = smoke_run.mlflow_runs("tags.`layerwise.role` = 'evaluation'")[0]
    artifacts = {a.path for a in MlflowClient(smoke_run.tracking_uri).list_artifacts(evaluation.info.run_id)}
    assert {"beam.png", "seed_study.png"} <= artifacts
    selection = json.loads((smoke_run.results / "finetune" / "selected.json").read_text())
    assert summary["selected_trial"] in {entry["trial_id"] for entry in selection["best_per_parent"]}


def test_the_snakemake_report_holds_every_figure_and_table_with_its_caption(smoke_run):
    report = smoke_run.results / "report.html"
    process = snakemake(smoke_run.workdir, smoke_run.config, "--report", str(report))
    assert process.returncode == 0, process.stderr[-3000:]
    html = report.read_text()
    results = f"results/{smoke_run.config['experiment']}"
    for stage, kind in KINDS.items():
        for name in STAGE_FIGURES[kind]:
            assert f'"{results}/{stage}/figures/{name}.png"' in html
        assert f'"{results}/{stage}/top.csv"' in html
    for path in ("beam.png", "seed_study.png", "trials.csv", "summary.md"):
        assert f'"{results}/{path}"' in html
    text = re.sub(r"\s+", " ", html)
    for caption in ("objective", "best_so_far", "learning_curves", "arms", "beam", "seed_study", "top_table", "trials"):
        assert caption_start(caption) in text, caption


def test_a_stages_figures_can_be_drawn_again_from_its_records_alone(smoke_run, tmp_path):
    from layerwise.steps.selection import draw_again

    for stage, kind in KINDS.items():
        draw_again(smoke_run.results / stage, str(tmp_path / stage))
        drawn = sorted(path.name for path in (tmp_path / stage).iterdir())
        assert drawn == sorted(f"{name}.png" for name in STAGE_FIGURES[kind]), stage
