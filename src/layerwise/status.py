"""What became of a trial: the status its record, its row of trials.csv and its MLflow run carry."""

from enum import StrEnum


class Status(StrEnum):
    PLANNED = "PLANNED"  # a round's plan holds it: its shard has not opened it yet
    RUNNING = "RUNNING"  # opened: its shard trains it now (or was stopped before it ended)
    FINISHED = "FINISHED"  # trained its whole budget (or its early stopping ended it)
    FAILED = "FAILED"  # raised, diverged or could not start; its record says why
    PRUNED = "PRUNED"  # successive halving cut it at a rung (search/halving.py): it trained that rung's budget
