"""MLflow lineage: the only module that imports mlflow.

`init_tracking` creates, once and before any parallel job, the experiment, the pipeline run and
one run per stage; later jobs read their ids from the tracking file and hang trial runs under them.
Files stay the source of truth: MLflow is for display and lineage.
"""

import json
import os
import time
from pathlib import Path

ROLE, STAGE, TRIAL, PARENT_TRIAL = "layerwise.role", "layerwise.stage", "layerwise.trial", "layerwise.parent_trial"
PARENT_RUN = "mlflow.parentRunId"
METRICS_PER_BATCH = 1000  # log_batch's limit on metrics per request


def absolute_uri(uri: str) -> str:
    """A sqlite URI pinned to an absolute path, so jobs in any working directory reach the same store."""
    prefix = "sqlite:///"
    if uri.startswith(prefix) and not uri.startswith(prefix + "/"):
        path = Path(uri[len(prefix) :]).resolve()
        path.parent.mkdir(parents=True, exist_ok=True)
        return prefix + str(path)
    return uri


def retry(call, *args, attempts: int = 8, **kwargs):
    """Calls `call`, retrying with exponential back-off while the store is busy (e.g. sqlite locked)."""
    for attempt in range(attempts):
        try:
            return call(*args, **kwargs)
        except Exception as error:  # mlflow wraps the driver's errors in several types
            busy = "locked" in str(error).lower() or "busy" in str(error).lower()
            if not busy or attempt == attempts - 1:
                raise
            time.sleep(min(0.2 * 2**attempt, 10.0))


def client(uri: str):
    from mlflow.tracking import MlflowClient

    return MlflowClient(tracking_uri=uri)


def init_tracking(uri: str, experiment: str, artifact_root: str, stages: list[str], config: dict, enabled: bool) -> dict:
    """Creates the store, experiment, pipeline run and stage runs; returns what the tracking file holds."""
    if not enabled:
        return {"enabled": False}
    uri = absolute_uri(uri)
    mlflow_client = client(uri)
    found = retry(mlflow_client.get_experiment_by_name, experiment)
    if found is None:
        root = Path(artifact_root).resolve()
        root.mkdir(parents=True, exist_ok=True)
        experiment_id = retry(mlflow_client.create_experiment, experiment, artifact_location=root.as_uri())
    else:
        experiment_id = found.experiment_id
    pipeline = retry(mlflow_client.create_run, experiment_id, run_name="pipeline", tags={ROLE: "pipeline"})
    pipeline_id = pipeline.info.run_id
    log_dict(mlflow_client, pipeline_id, config, "config.json")
    retry(mlflow_client.log_batch, pipeline_id, params=params_of(flatten(config)))
    stage_runs = {}
    for stage in stages:
        role = "evaluation" if stage == "evaluation" else "stage"
        tags = {ROLE: role, STAGE: stage, PARENT_RUN: pipeline_id}
        stage_runs[stage] = retry(mlflow_client.create_run, experiment_id, run_name=stage, tags=tags).info.run_id
    return {
        "enabled": True,
        "tracking_uri": uri,
        "experiment_id": experiment_id,
        "pipeline_run_id": pipeline_id,
        "stage_runs": stage_runs,
    }


def flatten(mapping: dict, prefix: str = "") -> dict:
    """{"a": {"b": 1}} -> {"a.b": 1}; lists become their JSON text."""
    flat = {}
    for key, value in mapping.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(flatten(value, name + "."))
        else:
            flat[name] = json.dumps(value) if isinstance(value, list) else value
    return flat


def params_of(values: dict):
    from mlflow.entities import Param

    return [Param(key, str(value)[:6000]) for key, value in sorted(values.items())]


def log_dict(mlflow_client, run_id: str, data: dict, name: str) -> None:
    retry(mlflow_client.log_dict, run_id, data, name)


class Tracker:
    """Logs trial and stage results under the runs that init_tracking created; a no-op when disabled."""

    def __init__(self, info: dict):
        self.info = info
        self.enabled = info.get("enabled", False)
        self.client = client(info["tracking_uri"]) if self.enabled else None

    @classmethod
    def from_file(cls, path: str) -> "Tracker":
        return cls(json.loads(Path(path).read_text()))

    @property
    def pipeline_run_id(self) -> str | None:
        return self.info.get("pipeline_run_id")

    def stage_run_id(self, stage: str) -> str | None:
        return self.info["stage_runs"][stage] if self.enabled else None

    def start_trial(self, stage: str, trial_id: str, tags: dict) -> str | None:
        """A RUNNING child run of the stage run, so progress shows in the UI while the trial trains."""
        if not self.enabled:
            return None
        all_tags = {ROLE: "trial", STAGE: stage, PARENT_RUN: self.stage_run_id(stage), **tags}
        all_tags = {key: str(value) for key, value in all_tags.items()}
        run = retry(self.client.create_run, self.info["experiment_id"], run_name=trial_id, tags=all_tags)
        return run.info.run_id

    def finish_run(self, run_id, params=None, metrics=None, history=None, tags=None, artifacts=(), status="FINISHED"):
        """Logs everything in a few batched requests, then closes the run with `status`."""
        if not self.enabled or run_id is None:
            return
        from mlflow.entities import Metric, RunTag

        now = int(time.time() * 1000)
        points = [Metric(key, float(value), now, 0) for key, value in (metrics or {}).items()]
        for key, values in (history or {}).items():
            points += [Metric(key, float(value), now, step) for step, value in enumerate(values, start=1)]
        retry(
            self.client.log_batch,
            run_id,
            params=params_of(params or {}),
            tags=[RunTag(key, str(value)) for key, value in (tags or {}).items()],
        )
        for start in range(0, len(points), METRICS_PER_BATCH):
            retry(self.client.log_batch, run_id, metrics=points[start : start + METRICS_PER_BATCH])
        for artifact in artifacts:
            if os.path.isdir(artifact):
                retry(self.client.log_artifacts, run_id, artifact, Path(artifact).name)
            else:
                retry(self.client.log_artifact, run_id, artifact)
        retry(self.client.set_terminated, run_id, status)

    def log_model(self, run_id: str, model, input_example) -> None:
        """The final network as an MLflow model (pt2 format, which needs an input example)."""
        if not self.enabled:
            return
        import mlflow
        import mlflow.pytorch

        mlflow.set_tracking_uri(self.info["tracking_uri"])
        with mlflow.start_run(run_id=run_id):
            mlflow.pytorch.log_model(model, name="model", input_example=input_example)
        # start_run's exit marked the run FINISHED; finish_run sets the final status afterwards.
