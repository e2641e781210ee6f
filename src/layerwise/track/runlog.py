"""The pipeline's runs in MLflow, apart from its trials (triallog.py): the store, experiment and
pipeline run created, a stage's run opened under the pipeline run, the evaluation's run, and the
pipeline run closed with what reproduces it. The jobs write here and nowhere else in the store; each
takes its tracking file (init-tracking's, or a stage's), and does nothing in the store when tracking is
off.
"""

from dataclasses import dataclass

from layerwise.files import flatten
from layerwise.track.store import init_tracking
from layerwise.track.tracking import Tracker


def open_pipeline(uri: str, experiment: str, artifact_root: str, enabled: bool) -> dict:
    """The store (created by one process at a time), the experiment and the pipeline run; returns the
    tracking file's content, which every later job reads."""
    return init_tracking(uri, experiment, artifact_root, enabled)


def open_stage(pipeline: str, stage: str, params: dict) -> dict:
    """A stage's run under the pipeline run of tracking file `pipeline`, its settings logged as params;
    returns the stage's tracking file's content."""
    return Tracker.from_file(pipeline).open_child("stage", stage, params=flatten(params))


@dataclass
class EvaluationRun:
    """The evaluation's run, open until `close`."""

    tracker: Tracker
    pipeline: Tracker

    @classmethod
    def open(cls, tracking: str) -> "EvaluationRun":
        pipeline = Tracker.from_file(tracking)
        return cls(Tracker(pipeline.open_child("evaluation", "evaluation")), pipeline)

    def ids(self) -> dict:
        """Where the run's results lie in the store (summary.json's `mlflow`)."""
        return {
            "tracking_uri": self.pipeline.info.get("tracking_uri"),
            "experiment_id": self.pipeline.info.get("experiment_id"),
            "pipeline_run_id": self.pipeline.pipeline_run_id,
            "evaluation_run_id": self.tracker.run_id,
        }

    def close(self, params: dict, metrics: dict, artifacts: list[str]) -> None:
        if self.tracker.enabled:
            self.tracker.finish_run(self.tracker.run_id, params=params, metrics=metrics, artifacts=artifacts)


def close_pipeline(
    tracking: str, config: dict, splits: dict[str, str], data_files: list[str], metrics: dict, tags: dict, artifacts
) -> None:
    """The pipeline run, closed: the resolved config as an artifact, each raw split as a dataset (its
    source the user's file where there is one), the run's figures, tags and files."""
    tracker = Tracker.from_file(tracking)
    tracker.log_config(config)
    tracker.log_datasets(tracker.pipeline_run_id, splits, data_files)
    tracker.finish_run(tracker.pipeline_run_id, metrics=metrics, tags=tags, artifacts=artifacts)
