"""Resumable training: a trial's whole training state, saved so that training goes on from it to the
same numbers as without the pause.

Two uses share the state's format (`training_state`): a long trial saves it after each epoch,
and the next attempt of the same trial (after a kill, a lost node) continues from it; with successive
halving (search/halving.py) a trial saves it when its rung ends, and the next rung, if it keeps the
trial, continues from there. The state holds the weights, the optimizer's and the schedule's own
state_dicts (momentum buffers, learning rates, the updates made), both random generators (batch order
and dropout), the history, the best epoch so far and whether early stopping ended the training; a
trial alone and a trial in a pack write and read the same form. A kill checkpoint is keyed by
the trial's configuration, so one left by another configuration under the same trial id is never used.
"""

import hashlib
import json
import os
import time
from pathlib import Path

import torch

STATE_FORM = 2  # the state holds the optimizer's and schedule's state_dicts (1: momentum buffers by name)


def trial_key(params: dict, seed: int, spec: str) -> str:
    """What a kill checkpoint belongs to: a trial's hyper-parameters, seed and stage spec (its JSON form),
    in this form of the state (one an earlier version left is not taken up)."""
    text = json.dumps({"params": params, "seed": seed, "spec": spec, "form": STATE_FORM}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def cpu_copy(tensors: dict | None) -> dict | None:
    return None if tensors is None else {name: tensor.detach().cpu().clone() for name, tensor in tensors.items()}


def training_state(trainee, epoch: int, updates: int, weights: dict, optimizer, schedule, torch_rng, cuda_rng,
                   best_weights: dict | None) -> dict:  # fmt: skip
    """What `trainee` (epochs.Trainee) needs to go on as if it had not paused after `epoch` epochs
    (`updates` updates): the weights by the name the parameter has in its own model, the state_dicts of
    its optimizer and schedule (None: a constant rate), its generators, curves and best epoch so far."""
    score, best_epoch, _ = trainee.stopping.best
    optimizer_state = optimizer.state_dict()
    return {
        "epoch": epoch,
        "updates": updates,
        "stopped": trainee.stopped,  # early stopping ended the training: nothing is left to train
        "weights": cpu_copy(weights),
        "optimizer": {**optimizer_state, "state": {k: cpu_copy(v) for k, v in optimizer_state["state"].items()}},
        "schedule": None if schedule is None else schedule.state_dict(),
        "generator": trainee.generator.get_state(),
        "torch_rng": torch_rng,  # dropout draws from it on the CPU,
        "cuda_rng": cuda_rng,  # and from this on a GPU
        "history": trainee.history,
        "best": (tuple(score), best_epoch, cpu_copy(best_weights)),
    }


def write_whole(path: Path, state: dict) -> None:
    """Written whole or not at all: a kill during the write leaves the previous file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    torch.save(state, partial)
    os.replace(partial, path)


def read_state(path: Path) -> dict:
    return torch.load(path, map_location="cpu", weights_only=True)


class Checkpoint:
    """A trial's saved states: `path` its kill checkpoint (None: none), saved once the trial has run
    `after_seconds`; `start` the state it continues from (the previous rung's), `end` where it saves
    its state when its training ends (for the next rung); `logged` the epochs its run already shows."""

    def __init__(
        self,
        path: Path | None = None,
        key: str = "",
        after_seconds: float | None = None,
        start: Path | None = None,
        end: Path | None = None,
        logged: int = 0,
    ):
        self.path, self.key, self.after_seconds = Path(path) if path else None, key, after_seconds
        self.start, self.end, self.logged = start, end, logged
        self.started = time.monotonic()

    def due(self) -> bool:
        if self.path is None or self.after_seconds is None:
            return False
        return time.monotonic() - self.started >= self.after_seconds

    def save(self, state: dict) -> None:
        write_whole(self.path, {**state, "key": self.key})

    def load(self) -> dict | None:
        """The state to go on from: this very trial configuration's kill checkpoint, else the start
        state, else None."""
        if self.path is not None and self.path.exists():
            state = read_state(self.path)
            if state.get("key") == self.key:
                return state
        return read_state(self.start) if self.start else None

    def finish(self, state) -> None:
        """Saves `state()`, the state as training ends, where the next rung finds it (if it may)."""
        if self.end:
            write_whole(Path(self.end), state())

    def clear(self) -> None:
        if self.path is not None:
            self.path.unlink(missing_ok=True)
