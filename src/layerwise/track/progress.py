"""A shard's progress on disk, line by line, so that `layerwise status` can tell how far a run is while
it goes, on this machine or a cluster's shared file system (a shard's records are written only when
it ends).

`<stage>/shards/progress/r<round>-<shard>.jsonl`: a first line with the round's size and the shard
count, then a line when a pack starts (its trials) and one per trial that ends (status, objective,
duration). A shard run again starts its file afresh.
"""

import json
from dataclasses import dataclass, field
from pathlib import Path

from layerwise.errors import UserError
from layerwise.records import TrialRecord, read_shard
from layerwise.status import Status

ENDED = ("status", "objective", "duration_s")  # what a progress line keeps of a trial that ended


def progress_path(records: str | Path) -> Path:
    """Where the shard whose records go to `records` (shards/r<round>-<n>.json) logs its progress."""
    records = Path(records)
    return records.parent / "progress" / f"{records.stem}.jsonl"


class ProgressLog:
    """Written by a shard as it goes."""

    def __init__(self, records: str | Path, trials: int, shards: int):
        self.path = progress_path(records)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_text("")
        self.write({"trials": trials, "shards": shards})

    def write(self, line: dict) -> None:
        with self.path.open("a") as log:
            log.write(json.dumps(line) + "\n")

    def started(self, trial_ids: list[str]) -> None:
        self.write({"started": trial_ids})

    def ended(self, record: TrialRecord) -> None:
        self.write({key: getattr(record, key) for key in ("trial_id", *ENDED)})


@dataclass
class RoundProgress:
    """What the shards of one round have done so far."""

    trials: int | None = None  # the round's size, once a shard has started
    shards: int | None = None
    ended: dict = field(default_factory=dict)  # trial id -> {status, objective, duration_s}
    started: set = field(default_factory=set)

    @property
    def running(self) -> set:
        return self.started - set(self.ended)

    def count(self, status: str) -> int:
        return sum(1 for trial in self.ended.values() if trial["status"] == status)

    @property
    def left(self) -> int | None:
        return None if self.trials is None else self.trials - len(self.ended) - len(self.running)

    @property
    def best(self) -> float | None:
        objectives = [t["objective"] for t in self.ended.values() if t["status"] == Status.FINISHED]
        return min(objectives) if objectives else None

    def seconds_for(self, trials: int) -> float:
        """`trials` trials at the mean pace of the round's ended ones, over its shards (0 with none ended)."""
        durations = [trial["duration_s"] for trial in self.ended.values()]
        return sum(durations) / len(durations) * trials / (self.shards or 1) if durations else 0.0

    def round_seconds(self) -> float:
        """A whole round like this one (0 while its size or pace is unknown)."""
        return 0.0 if self.trials is None else self.seconds_for(self.trials)

    def seconds_left(self) -> float | None:
        """The round's trials not ended yet, at the mean pace of those that have, over its shards."""
        if not self.ended or self.left is None:
            return None
        return self.seconds_for(self.left + len(self.running))


def read_round(shards_folder: Path, round_: int) -> RoundProgress:
    """A round's progress: from the records of shards that have ended, else from their progress logs
    (a run made before the logs existed has only records, of rounds that ended)."""
    progress = RoundProgress()
    for stem in shard_names(shards_folder, f"r{round_}-*"):
        log, records = shards_folder / "progress" / f"{stem}.jsonl", shards_folder / f"{stem}.json"
        for line in log_lines(log):
            if "trials" in line:
                progress.trials, progress.shards = line["trials"], line["shards"]
            elif "started" in line:
                progress.started.update(line["started"])
            elif not records.exists():
                progress.ended[line["trial_id"]] = line
        if records.exists():  # the shard ended: its records are the truth
            for record in read_shard(records):
                progress.ended[record.trial_id] = {key: getattr(record, key) for key in ENDED}
    if progress.trials is None and progress.ended:
        progress.trials = len(progress.ended)
    return progress


def log_lines(log: Path) -> list[dict]:
    """A progress log's lines; a last line the shard is still writing (no newline yet) is left for later."""
    text = log.read_text() if log.exists() else ""
    complete = text if text.endswith("\n") else text[: text.rfind("\n") + 1]
    try:
        return [json.loads(line) for line in complete.splitlines()]
    except ValueError as error:
        raise UserError(f"{log}: not a progress log layerwise wrote ({error})") from error


def shard_names(shards_folder: Path, pattern: str) -> list[str]:
    """r<round>-<shard> of the shards, by progress log or by records, whose names match `pattern`."""
    logs = (shards_folder / "progress").glob(f"{pattern}.jsonl")
    return sorted({path.stem for path in [*logs, *shards_folder.glob(f"{pattern}.json")]})


def rounds_of(shards_folder: Path) -> list[int]:
    """The rounds a stage has started."""
    return sorted({int(name[1:].split("-")[0]) for name in shard_names(shards_folder, "r*-*")})
