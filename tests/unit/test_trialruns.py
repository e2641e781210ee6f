"""A trial's MLflow run: a store that fails never costs a trial its result, the selection repairs the
run from the record, and runs of incomplete attempts or interrupted workflows never stay RUNNING."""

import shutil
import time

import numpy as np
import pytest
from mlflow.exceptions import MlflowException

from layerwise.data.sets import Split, save_split
from layerwise.files import read_json, write_json
from layerwise.stages import pretrain
from layerwise.stagespec import StageSpec
from layerwise.steps.selection import select_stage
from layerwise.steps.shard import run_shard
from layerwise.track.store import StoreUnreachable, init_tracking
from layerwise.track.tracking import Tracker
from support.mlflowserver import call, free_port, mlflow_server


def tracked_stage(folder, uri: str):
    """Splits, and a tracked layer-1 stage run in the store at `uri`."""
    rng = np.random.default_rng(0)
    for name, rows in (("train", 120), ("valid", 40)):
        y = np.arange(rows) % 3
        save_split(Split((rng.normal(size=(rows, 5)) + y[:, None]).astype(np.float32), y), str(folder / f"{name}.npz"))
    info = init_tracking(uri, "runs", str(folder / "artifacts"), True)
    write_json(str(folder / "pipeline.json"), info)
    write_json(str(folder / "tracking.json"), Tracker(info).open_child("stage", "layer1"))


@pytest.fixture()
def stage(tmp_path):
    """A tracked layer-1 stage in a fresh sqlite store."""
    tracked_stage(tmp_path, f"sqlite:///{tmp_path / 'mlflow.db'}")
    return tmp_path


SPEC = StageSpec(
    stage="layer1", kind="pretrain", config_key="pretrain", seed=0, parents=1,
    has_parent_stacks=False, trials_per_parent=2, top_k=1, strategy={"name": "random"}, shards=1,
    readout="ridge", readout_ridge=1e-3, distinct_parents=True,
    space={"algorithm": "autoencoder", "hidden_units": 4, "epochs": 3, "batch_size": 16, "activation": "tanh"},
)  # fmt: skip


def shard(folder) -> list[dict]:
    run_shard(
        SPEC, 0, 0, str(folder / "train.npz"), str(folder / "valid.npz"), None, [], str(folder / "tracking.json"),
        str(folder / "r0-0.json"), str(folder / "weights"), 1,
    )  # fmt: skip
    return read_json(str(folder / "r0-0.json"))["records"]


def select(folder) -> None:
    select_stage(
        SPEC, [str(folder / "r0-0.json")], None, str(folder / "tracking.json"), str(folder / "topk.json"),
        str(folder / "topk"), str(folder / "figures"), str(folder / "top.csv"),
    )  # fmt: skip


def history(folder, run, key: str) -> list[float]:
    client = Tracker.from_file(str(folder / "tracking.json")).client
    return [point.value for point in client.get_metric_history(run.info.run_id, key)]


def trial_runs(folder) -> list:
    tracker = Tracker.from_file(str(folder / "tracking.json"))
    return sorted(tracker.children(tracker.run_id), key=lambda run: run.info.start_time)


def test_a_store_that_fails_to_close_a_run_costs_the_trial_nothing_and_selection_repairs_it(stage, monkeypatch):
    def store_down(self, run_id, **kwargs):
        raise ConnectionError("the tracking store is down")

    with monkeypatch.context() as patch:
        patch.setattr(Tracker, "finish_run", store_down)
        records = shard(stage)
    assert [record["status"] for record in records] == ["FINISHED", "FINISHED"]
    assert all(record["objective"] is not None and "store is down" in record["tracking_error"] for record in records)
    assert {run.info.status for run in trial_runs(stage)} == {"RUNNING"}

    select(stage)
    runs = {run.info.run_name: run for run in trial_runs(stage)}
    assert len(runs) == 2 and read_json(str(stage / "topk.json"))["tracking_unrepaired"] == []
    for record in records:
        run = runs[record["trial_id"]]
        assert run.info.status == "FINISHED" and run.data.metrics["objective"] == record["objective"]
        assert history(stage, run, "valid_loss") == record["curves"]["valid_loss"]  # logged live, not twice


def test_a_store_that_fails_from_the_start_gets_the_runs_made_by_the_selection(stage, monkeypatch):
    def store_down(self, *args):
        raise ConnectionError("the tracking store is down")

    with monkeypatch.context() as patch:
        patch.setattr(Tracker, "start_trial", store_down)
        records = shard(stage)
    assert all(record["mlflow_run_id"] is None and record["status"] == "FINISHED" for record in records)
    select(stage)
    runs = {run.info.run_name: run for run in trial_runs(stage)}
    assert sorted(runs) == sorted(record["trial_id"] for record in records)
    for record in records:
        assert history(stage, runs[record["trial_id"]], "train_loss") == record["curves"]["train_loss"]


def test_a_shard_whose_tracking_server_is_down_from_the_start_trains_and_the_selection_logs_it(tmp_path, monkeypatch):
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "1")  # MLflow's default retries for minutes
    backend, log, port = f"sqlite:///{tmp_path / 'mlflow.db'}", tmp_path / "server.log", free_port()
    with mlflow_server(backend, log, port) as server:
        tracked_stage(tmp_path, server)
        shard(tmp_path)  # an attempt whose runs the next one must supersede
        first = {run.info.run_id for run in trial_runs(tmp_path)}
    # the server was stopped by its pid: nothing listens on its port
    started = time.monotonic()
    records = shard(tmp_path)
    assert time.monotonic() - started < 60  # one call waits through the retries, not every call
    assert [record["status"] for record in records] == ["FINISHED", "FINISHED"]
    assert all(record["mlflow_run_id"] is None and record["tracking_error"] for record in records)
    with mlflow_server(backend, log, port):
        select(tmp_path)
        runs = trial_runs(tmp_path)
    assert read_json(str(tmp_path / "topk.json"))["tracking_unrepaired"] == []
    current = {run.info.run_name: run for run in runs if run.info.run_id not in first}
    assert sorted(current) == sorted(record["trial_id"] for record in records)
    for record in records:
        run = current[record["trial_id"]]
        assert run.info.status == "FINISHED" and run.data.metrics["objective"] == record["objective"]
        assert "layerwise.superseded" not in run.data.tags
    for run in runs:
        if run.info.run_id in first:
            assert run.info.status == "KILLED" and run.data.tags["layerwise.superseded"] == "true"


def test_a_running_trial_shows_its_hyper_parameters_through_the_rest_api_before_it_ends(tmp_path, monkeypatch):
    seen, train = {}, pretrain.run_trial

    def looking(trial, *args):  # what a user of the UI (or of the REST API) sees while the trial trains
        experiment = read_json(str(tmp_path / "tracking.json"))["experiment_id"]
        query = {"experiment_ids": [experiment], "filter": f"attributes.run_name = '{trial.trial_id}'"}
        (run,) = call(server, "runs/search", query)["runs"]
        seen[trial.trial_id] = run["info"]["status"], {p["key"]: p["value"] for p in run["data"]["params"]}
        return train(trial, *args)

    monkeypatch.setattr(pretrain, "run_trial", looking)
    with mlflow_server(f"sqlite:///{tmp_path / 'mlflow.db'}", tmp_path / "server.log") as server:
        tracked_stage(tmp_path, server)
        records = shard(tmp_path)
    assert sorted(seen) == sorted(record["trial_id"] for record in records)
    for record in records:
        status, params = seen[record["trial_id"]]
        assert status == "RUNNING"
        assert params == {key: str(value) for key, value in {**record["params"], "seed": record["seed"]}.items()}


def test_a_second_attempt_supersedes_the_runs_of_the_first(stage):
    shard(stage)
    first = {run.info.run_id for run in trial_runs(stage)}
    shard(stage)  # the same shard again, as after a killed job
    runs = trial_runs(stage)
    assert len(runs) == 4
    for run in runs:
        old = run.info.run_id in first
        assert run.info.status == ("KILLED" if old else "FINISHED")
        assert (run.data.tags.get("layerwise.superseded") == "true") == old


def test_a_second_attempt_supersedes_the_first_even_when_the_shards_claims_are_lost(stage):
    shard(stage)
    first = {run.info.run_id for run in trial_runs(stage)}
    shutil.rmtree(stage / "claims")  # the shard takes its packs afresh, as after a deleted shards folder
    shard(stage)
    runs = trial_runs(stage)
    assert len(runs) == 4
    assert all((run.data.tags.get("layerwise.superseded") == "true") == (run.info.run_id in first) for run in runs)


def test_an_interrupted_workflow_leaves_no_run_of_its_tree_running(stage):
    pipeline = Tracker.from_file(str(stage / "pipeline.json"))
    stage_tracker = Tracker.from_file(str(stage / "tracking.json"))
    open_trial = stage_tracker.start_trial("layer1", "layer1-r0-t0009", {})
    assert pipeline.close_open_runs("interrupted") == 3  # the pipeline run, the stage run, the trial run
    for run_id in (pipeline.pipeline_run_id, stage_tracker.run_id, open_trial):
        run = pipeline.client.get_run(run_id)
        assert run.info.status == "KILLED" and run.data.tags["layerwise.closed_by"] == "interrupted"
    assert pipeline.close_open_runs("interrupted") == 0


def test_once_the_store_cannot_be_reached_later_calls_fail_without_waiting_for_it(stage):
    tracker, calls = Tracker.from_file(str(stage / "tracking.json")), []

    def refused(*args):
        calls.append(args)
        raise ConnectionRefusedError("connection refused")

    with pytest.raises(ConnectionRefusedError):
        tracker.call(refused, 1)
    with pytest.raises(StoreUnreachable, match="connection refused"):
        tracker.call(refused, 2)
    assert calls == [(1,)]


def test_an_error_of_the_request_itself_leaves_the_store_in_use(stage):
    tracker = Tracker.from_file(str(stage / "tracking.json"))
    with pytest.raises(MlflowException):
        tracker.call(tracker.client.get_run, "no-such-run")
    assert tracker.unreachable is None and tracker.call(tracker.client.get_run, tracker.run_id)
