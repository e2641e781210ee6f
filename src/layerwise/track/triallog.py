"""A stage's trial log: where its shards write each trial's opening, epochs and end, and nowhere else,
and where its selection settles them and closes the stage.

The files are the truth: the progress lines (`layerwise status` reads them while the run goes) here,
the records in the shard's file when it ends. MLflow observes behind them (trialruns.py): a store that
fails costs no trial (the record keeps the error and the stage's selection logs the run again), and the
runs of an earlier, incomplete attempt are marked superseded as this attempt takes their trials again.
"""

from pathlib import Path

from layerwise.records import TrialRecord
from layerwise.track import trialruns
from layerwise.track.progress import ProgressLog
from layerwise.track.tags import BORDER, EXTENDED
from layerwise.track.tracking import LiveMetrics, Tracker


class TrialLog:
    def __init__(self, tracker: Tracker, progress: ProgressLog | None = None, begun: set[str] = frozenset()):
        """`begun`: the trials this attempt begins (not those it continues at a later rung), whose runs
        of earlier attempts it supersedes; listed before it opens any run of its own."""
        self.tracker, self.progress = tracker, progress
        self.stale = trialruns.earlier_attempts(tracker, set(begun)) if begun else {}

    @classmethod
    def of_shard(cls, tracking: str, records: str | Path, trials: int, shards: int, begun: set[str]) -> "TrialLog":
        """The log of the shard whose records go to `records`, in a round of `trials` trials."""
        return cls(Tracker.from_file(tracking), ProgressLog(records, trials, shards), begun)

    @classmethod
    def untracked(cls) -> "TrialLog":
        """No store and no progress file: trials run outside a workflow (benchmarks)."""
        return cls(Tracker({"enabled": False}))

    def take(self, trial_ids: list[str]) -> int:
        """This attempt runs these trials now: their runs of earlier attempts are superseded."""
        return trialruns.supersede(self.tracker, [run for trial in trial_ids for run in self.stale.get(trial, [])])

    def start(self, trial_ids: list[str]) -> None:
        """Trials that begin training (together, in a pack, or one alone)."""
        if self.progress:
            self.progress.started(trial_ids)

    def open(
        self, record: TrialRecord, params: dict, run_id: str | None = None
    ) -> tuple[str | None, str | None, LiveMetrics]:
        """(run id, tracking error, the listener of its epochs) of a trial about to train with `params`:
        a new RUNNING run, or `run_id` again (a trial going on at a later rung keeps its run)."""
        if run_id:
            run_id, error = trialruns.continue_run(self.tracker, record, run_id)
        else:
            run_id, error = trialruns.open_run(self.tracker, record, params)
        return run_id, error, self.tracker.live_metrics(run_id)

    def end(self, record: TrialRecord, error: str | None = None) -> str | None:
        """A trial's finished (or failed) record: its run logged and closed, unless `error` says why the
        store missed its opening or epochs (the selection then logs it again); the tracking error, if any."""
        error = error or trialruns.close_run(self.tracker, record)
        if self.progress:
            self.progress.ended(record)
        return error

    @classmethod
    def of_stage(cls, tracking: str) -> "TrialLog":
        """The log of a stage's selection, which settles what its shards logged."""
        return cls(Tracker.from_file(tracking))

    def settle(self, records: list[TrialRecord]) -> list[str]:
        """After a stage's shards: logs again the trials whose tracking failed there, supersedes the runs of
        earlier attempts they could not mark, and tags those halving cut PRUNED. Returns the trials the
        store still lacks."""
        unrepaired = trialruns.repair_stage(self.tracker, records)
        trialruns.mark_pruned(self.tracker, records)
        return unrepaired

    def close_stage(self, metrics: dict, border: str, extended: list[str], artifacts: list[str]) -> None:
        """The stage's own run, closed with its selection's figures and files, and tagged with the best
        values found on the border of their interval and the intervals the strategy widened."""
        tags = {BORDER: border, **({EXTENDED: "; ".join(extended)} if extended else {})}
        self.tracker.finish_run(self.tracker.run_id, metrics=metrics, tags=tags, artifacts=artifacts)

    def interrupt(self, run_ids: list[str | None]) -> None:
        """Ctrl-C or SIGTERM ends this attempt: the runs it opened must not stay RUNNING (best effort: a
        later attempt supersedes them where the store cannot be reached now)."""
        for run_id in run_ids:
            try:
                self.tracker.close_run(run_id, "KILLED", "the shard was interrupted")
            except Exception:
                return
