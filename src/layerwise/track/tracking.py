"""MLflow lineage: the run tree, written through `Tracker` (store.py reaches and creates the store,
tags.py names the tags; pyfunc_model.py writes the model format).

`init_tracking` creates, once and before any parallel job, the store, the experiment and the
pipeline run. Each stage then opens its own run under it, with the stage's settings as params, and
its trials hang under that. A stage whose settings change gets a new stage run, so a rerun never
mixes trials of two configurations (nor tries to change a logged param). Jobs pass run ids to each
other in small JSON tracking files. Files stay the source of truth: MLflow is for display and lineage.
"""

import json
import os
import time
from pathlib import Path

from layerwise.track.store import StoreUnreachable, cannot_connect, client, retry
from layerwise.track.tags import CLOSED_BY, PARENT_RUN, ROLE, STAGE, SUPERSEDED

CHAMPION = "champion"  # the registry alias of the registered version with the lowest validation error
METRICS_PER_BATCH = 1000  # log_batch's limit on metrics per request
LIVE_FLUSH_SECONDS = 5.0  # per-epoch metrics reach the store at most this often while a trial trains


def params_of(values: dict):
    from mlflow.entities import Param

    return [Param(key, str(value)[:6000]) for key, value in sorted(values.items())]


def tags_of(values: dict):
    from mlflow.entities import RunTag

    return [RunTag(key, str(value)) for key, value in values.items()]


class Tracker:
    """Logs under the run a tracking file names (pipeline or stage run); a no-op when tracking is off."""

    def __init__(self, info: dict):
        self.info = info
        self.enabled = info.get("enabled", False)
        self.client = client(info["tracking_uri"]) if self.enabled else None
        self.unreachable: str | None = None  # why the store could not be reached, once it could not

    def call(self, method, *args, **kwargs):
        """`method` of the client, with `retry`. Once the store could not be reached, later calls fail at
        once: each would otherwise wait through MLflow's HTTP retries (minutes), and the job's records
        let the selection log what this job could not (trialruns.repair)."""
        if self.unreachable:
            raise StoreUnreachable(self.unreachable)
        try:
            return retry(method, *args, **kwargs)
        except Exception as error:
            if cannot_connect(error):
                self.unreachable = f"{type(error).__name__}: {error}"
            raise

    @classmethod
    def from_file(cls, path: str) -> "Tracker":
        return cls(json.loads(Path(path).read_text()))

    @property
    def pipeline_run_id(self) -> str | None:
        return self.info.get("pipeline_run_id")

    @property
    def run_id(self) -> str | None:
        """The run this tracking file belongs to: a stage run, or the pipeline run."""
        return self.info.get("run_id", self.pipeline_run_id)

    def open_child(self, role: str, stage: str, params: dict | None = None) -> dict:
        """A run nested under the pipeline run; returns the tracking info of jobs that log under it."""
        if not self.enabled:
            return dict(self.info)
        tags = {ROLE: role, STAGE: stage, PARENT_RUN: self.pipeline_run_id}
        run = self.call(self.client.create_run, self.info["experiment_id"], run_name=stage, tags=tags)
        if params:
            self.call(self.client.log_batch, run.info.run_id, params=params_of(params))
        return {**self.info, "stage": stage, "run_id": run.info.run_id}

    def start_trial(self, stage: str, trial_id: str, tags: dict, params: dict | None = None) -> str | None:
        """A RUNNING child run of the stage run, with `params` when given, so progress shows in the UI
        while the trial trains."""
        if not self.enabled:
            return None
        all_tags = {ROLE: "trial", STAGE: stage, PARENT_RUN: self.run_id, **tags}
        all_tags = {key: str(value) for key, value in all_tags.items()}
        run = self.call(self.client.create_run, self.info["experiment_id"], run_name=trial_id, tags=all_tags)
        if params:
            self.call(self.client.log_batch, run.info.run_id, params=params_of(params))
        return run.info.run_id

    def log_metrics(self, run_id, points: list) -> None:
        for start in range(0, len(points), METRICS_PER_BATCH):
            self.call(self.client.log_batch, run_id, metrics=points[start : start + METRICS_PER_BATCH])

    def log_missing_steps(self, run_id, curves: dict) -> None:
        """Logs the epochs of `curves` that the run's metric histories lack (after a failed live batch)."""
        from mlflow.entities import Metric

        now, points = int(time.time() * 1000), []
        for key, values in curves.items():
            logged = {point.step for point in self.call(self.client.get_metric_history, run_id, key)}
            points += [Metric(key, float(v), now, step) for step, v in enumerate(values, start=1) if step not in logged]
        self.log_metrics(run_id, points)

    def reopen(self, run_id: str, tags: dict) -> None:
        """A closed run RUNNING again (a trial that trains on at a later rung), with `tags` updated."""
        if self.enabled:
            self.set_tags(run_id, tags)
            self.call(self.client.update_run, run_id, status="RUNNING")

    def set_tags(self, run_id: str, tags: dict) -> None:
        if self.enabled:
            self.call(self.client.log_batch, run_id, tags=tags_of(tags))

    def close_run(self, run_id, status: str, reason: str) -> None:
        if self.enabled and run_id is not None:
            self.call(self.client.set_tag, run_id, CLOSED_BY, reason)
            self.call(self.client.set_terminated, run_id, status)

    def children(self, parent_run_id: str, *, running_only: bool = False) -> list:
        """The runs directly under a run (one page of up to 50,000)."""
        condition = f"tags.`{PARENT_RUN}` = '{parent_run_id}'"
        if running_only:
            condition += " and attributes.status = 'RUNNING'"
        return self.call(self.client.search_runs, [self.info["experiment_id"]], condition, max_results=50000)

    def stale_runs(self, trial_ids: set[str]) -> dict[str, list]:
        """The current runs of these trials under the stage run, by trial; taken before an attempt
        opens any, they are an earlier attempt's (a killed or failed job's)."""
        if not self.enabled:
            return {}
        stale = {}
        for run in self.children(self.run_id):
            if run.info.run_name in trial_ids and run.data.tags.get(SUPERSEDED) != "true":
                stale.setdefault(run.info.run_name, []).append(run)
        return stale

    def supersede(self, runs: list) -> int:
        """Marks runs of an earlier attempt (`stale_runs`) superseded, closed as KILLED if still open, so
        that each trial has exactly one current run, the new attempt's. Returns how many there were."""
        for run in runs:
            self.call(self.client.set_tag, run.info.run_id, SUPERSEDED, "true")
            if run.info.status in ("RUNNING", "SCHEDULED", "FINISHED"):
                self.close_run(run.info.run_id, "KILLED", "a later attempt of the same trial")
        return len(runs)

    def close_open_runs(self, reason: str) -> int:
        """Closes as KILLED every run of this pipeline run's tree still RUNNING (after a workflow was
        interrupted or failed); a rerun finishes the pipeline and stage runs again. Returns the count."""
        if not self.enabled:
            return 0
        pipeline = self.call(self.client.get_run, self.pipeline_run_id)
        open_runs = [pipeline] if pipeline.info.status == "RUNNING" else []
        for stage in self.children(self.pipeline_run_id):
            open_runs += [stage] if stage.info.status == "RUNNING" else []
            open_runs += self.children(stage.info.run_id, running_only=True)
        for run in open_runs:
            self.close_run(run.info.run_id, "KILLED", reason)
        return len(open_runs)

    def live_metrics(self, run_id) -> "LiveMetrics":
        """An epoch listener (training.Watch) that logs a trial's curves while it trains."""
        return LiveMetrics(self if self.enabled and run_id is not None else None, run_id)

    def finish_run(self, run_id, params=None, metrics=None, tags=None, artifacts=(), status="FINISHED"):
        """Logs everything in a few batched requests, then closes the run with `status`."""
        if not self.enabled or run_id is None:
            return
        from mlflow.entities import Metric

        now = int(time.time() * 1000)
        self.call(
            self.client.log_batch,
            run_id,
            params=params_of(params or {}),
            tags=tags_of(tags or {}),
        )
        self.log_metrics(run_id, [Metric(key, float(value), now, 0) for key, value in (metrics or {}).items()])
        for artifact in artifacts:
            if os.path.isdir(artifact):
                self.call(self.client.log_artifacts, run_id, artifact, Path(artifact).name)
            else:
                self.call(self.client.log_artifact, run_id, artifact)
        self.call(self.client.set_terminated, run_id, status)

    def log_config(self, config: dict) -> None:
        """The resolved config on the pipeline run, as a JSON artifact (a rerun may overwrite it)."""
        if self.enabled:
            self.call(self.client.log_dict, self.pipeline_run_id, config, "config.json")

    def log_datasets(self, run_id: str, splits: dict[str, str], data_files: list[str]) -> None:
        """Each split (name: its NPZ file, before preprocessing) as an input of the run, with its digest
        and shape in MLflow's Datasets column; its source is the user's file, or the split's file."""
        if not self.enabled or run_id is None:
            return
        import mlflow
        import mlflow.data
        import numpy as np

        # train and valid come from the first file; test from the second, if there is one
        origins = {"train": data_files[:1], "valid": data_files[:1], "test": data_files[-1:]}
        mlflow.set_tracking_uri(self.info["tracking_uri"])
        with mlflow.start_run(run_id=run_id):
            for name, path in splits.items():
                with np.load(path) as split:
                    source = (origins[name] or [path])[0]
                    dataset = mlflow.data.from_numpy(split["x"], targets=split["y"], source=source, name=name)
                    mlflow.log_input(dataset, context=name)
        # start_run's exit marked the run FINISHED; finish_run sets the final status afterwards.

    def log_final_model(self, run_id: str, arguments: dict, register_as: str | None, tags: dict) -> dict | None:
        """The final model (pyfunc_model.model_arguments) logged on `run_id`. With `register_as`, a new
        version of that registered model, carrying `tags` (test_accuracy, valid_error, ...), takes the
        alias CHAMPION when its validation error is below the current champion's (or there is none).
        Returns {"name", "version", "champion"}, or None when nothing was registered."""
        if not self.enabled:
            return None
        import mlflow
        import mlflow.pyfunc

        mlflow.set_tracking_uri(self.info["tracking_uri"])
        with mlflow.start_run(run_id=run_id):
            info = mlflow.pyfunc.log_model(name="model", registered_model_name=register_as, **arguments)
        # start_run's exit marked the run FINISHED, as evaluate had left it.
        if register_as is None:
            return None
        version = str(info.registered_model_version)
        for key, value in tags.items():
            self.call(self.client.set_model_version_tag, register_as, version, key, str(value))
        try:
            holder = self.client.get_model_version_by_alias(register_as, CHAMPION)
            to_beat = float(holder.tags.get("valid_error", "inf"))
        except mlflow.exceptions.MlflowException:  # no champion yet
            to_beat = float("inf")
        champion = float(tags["valid_error"]) < to_beat
        if champion:
            self.call(self.client.set_registered_model_alias, register_as, CHAMPION, version)
        return {"name": register_as, "version": int(version), "champion": champion}


class LiveMetrics:
    """Collects per-epoch metrics and sends them in one batch every LIVE_FLUSH_SECONDS, so the MLflow UI
    shows a long trial's curves growing without a request per epoch; `flush` sends the rest.

    A batch the store refuses (after retries) does not stop the trial: `error` keeps why, no more
    batches are sent, and the curves are logged again from the trial's record (trialruns.repair).
    """

    def __init__(self, tracker: Tracker | None, run_id: str | None):
        self.tracker, self.run_id = tracker, run_id
        self.pending: list = []
        self.last_flush = time.monotonic()
        self.error: str | None = None

    def __call__(self, epoch: int, metrics: dict) -> None:
        if self.tracker is None:
            return
        from mlflow.entities import Metric

        now = int(time.time() * 1000)
        self.pending += [Metric(key, float(value), now, epoch) for key, value in metrics.items()]
        if time.monotonic() - self.last_flush >= LIVE_FLUSH_SECONDS:
            self.flush()

    def flush(self) -> None:
        if self.pending and self.error is None:
            try:
                self.tracker.log_metrics(self.run_id, self.pending)
            except Exception as error:
                self.error = f"{type(error).__name__}: {error}"
        self.pending = []
        self.last_flush = time.monotonic()
