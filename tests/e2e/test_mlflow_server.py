"""The store a run leaves, served by a real `mlflow server` on 127.0.0.1 and read through its REST API."""

import pandas as pd
import pytest

from support.mlflowserver import call

pytestmark = pytest.mark.e2e


def test_the_server_holds_the_experiment_and_its_nested_run_tree(smoke_run, server):
    experiment = call(server, "experiments/get-by-name", experiment_name=smoke_run.config["experiment"])["experiment"]
    runs = call(server, "runs/search", {"experiment_ids": [experiment["experiment_id"]], "max_results": 1000})["runs"]
    tags = {run["info"]["run_id"]: {tag["key"]: tag["value"] for tag in run["data"]["tags"]} for run in runs}
    by_role = {}
    for run_id, run_tags in tags.items():
        by_role.setdefault(run_tags["layerwise.role"], []).append(run_id)
    (pipeline,) = by_role["pipeline"]
    assert all(tags[stage]["mlflow.parentRunId"] == pipeline for stage in by_role["stage"] + by_role["evaluation"])
    table = pd.read_csv(smoke_run.results / "trials.csv")
    assert sorted(tags[trial]["mlflow.runName"] for trial in by_role["trial"]) == sorted(table.trial_id)
    for trial in by_role["trial"]:
        stage = tags[trial]["mlflow.parentRunId"]
        assert stage in by_role["stage"] and tags[stage]["layerwise.stage"] == tags[trial]["layerwise.stage"]


def test_the_server_lists_the_artifacts_of_trials_and_of_the_evaluation(smoke_run, server):
    experiment = call(server, "experiments/get-by-name", experiment_name=smoke_run.config["experiment"])["experiment"]
    runs = call(server, "runs/search", {"experiment_ids": [experiment["experiment_id"]], "max_results": 1000})["runs"]
    named = {run["info"]["run_name"]: run["info"]["run_id"] for run in runs}
    trial = "layer1-r0-t0000"
    files = [entry["path"] for entry in call(server, "artifacts/list", run_id=named[trial]).get("files", [])]
    assert files == [f"{trial}.pt"]
    evaluation = named["evaluation"]
    files = {entry["path"] for entry in call(server, "artifacts/list", run_id=evaluation).get("files", [])}
    assert {"summary.json", "model.pt", "seed_study.png"} <= files
