"""Reaching the tracking store: its URI, retries while it is busy, failed connections, and its
creation (`init_tracking`), once and before any parallel job, under a lock."""

import contextlib
import time
from pathlib import Path

from layerwise.track.provenance import source_tags
from layerwise.track.tags import EXPERIMENT_KIND, ROLE, STAGE


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


class StoreUnreachable(ConnectionError):
    """The tracking store could not be reached earlier in this job."""


def cannot_connect(error: BaseException) -> bool:
    """Whether an error comes from a connection that failed (refused, reset, timed out): MLflow wraps
    requests' errors, which are OSErrors, in an MlflowException."""
    seen = set()
    while error is not None and id(error) not in seen:
        if isinstance(error, OSError):
            return True
        seen.add(id(error))
        error = error.__cause__ or error.__context__
    return False


def client(uri: str):
    from mlflow.tracking import MlflowClient

    return MlflowClient(tracking_uri=uri)


@contextlib.contextmanager
def creation_lock(uri: str, results: Path):
    """Held while a store and an experiment may be created. MLflow migrates a fresh database in several
    steps, and two workflows doing so at once leave it broken for good; two may also create the same
    experiment. The lock lies beside a sqlite file, else in the results folder the workflows share."""
    import fcntl

    prefix = "sqlite:///"
    path = Path(f"{uri[len(prefix) :]}.lock") if uri.startswith(prefix) else results / ".tracking-store.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)  # released when the file closes, also if this process dies
        yield


def init_tracking(uri: str, experiment: str, artifact_root: str, enabled: bool) -> dict:
    """Creates the store, the experiment and the pipeline run; returns what the tracking file holds."""
    if not enabled:
        return {"enabled": False}
    uri = absolute_uri(uri)
    with creation_lock(uri, Path(artifact_root).resolve().parents[1]):  # results/<experiment>/mlartifacts
        return create_experiment_run(uri, experiment, artifact_root)


def create_experiment_run(uri: str, experiment: str, artifact_root: str) -> dict:
    mlflow_client = client(uri)
    found = retry(mlflow_client.get_experiment_by_name, experiment)
    if found is None:
        root = Path(artifact_root).resolve()
        root.mkdir(parents=True, exist_ok=True)
        experiment_id = retry(
            mlflow_client.create_experiment, experiment, artifact_location=root.as_uri(), tags=EXPERIMENT_KIND
        )
    else:
        experiment_id = found.experiment_id
    tags = {ROLE: "pipeline", STAGE: "pipeline", **source_tags()}
    pipeline = retry(mlflow_client.create_run, experiment_id, run_name="pipeline", tags=tags)
    run_id = pipeline.info.run_id
    return {"enabled": True, "tracking_uri": uri, "experiment_id": experiment_id, "pipeline_run_id": run_id}
