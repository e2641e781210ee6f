"""Resumable training: a long trial saves its whole training state after each epoch, and the next
attempt of the same trial (after a kill, a lost node) continues from it to the same final numbers.

The state holds the weights, the optimizer and schedule, both random generators (batch order and
dropout), the history and the best epoch so far; it is keyed by the trial's configuration, so a
checkpoint left by another configuration under the same trial id is never used.
"""

import hashlib
import json
import os
import time
from pathlib import Path

import torch


def trial_key(params: dict, seed: int, spec: dict) -> str:
    text = json.dumps({"params": params, "seed": seed, "spec": spec}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


class Checkpoint:
    """The checkpoint file of one trial; saving starts once the trial has run `after_seconds`."""

    def __init__(self, path: Path, key: str, after_seconds: float):
        self.path, self.key, self.after_seconds = Path(path), key, after_seconds
        self.started = time.monotonic()

    def due(self) -> bool:
        return time.monotonic() - self.started >= self.after_seconds

    def save(self, state: dict) -> None:
        """Written whole or not at all: a kill during the write leaves the previous checkpoint."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        partial = self.path.with_suffix(".partial")
        torch.save({**state, "key": self.key}, partial)
        os.replace(partial, self.path)

    def load(self) -> dict | None:
        """The saved state of this very trial configuration, or None."""
        if not self.path.exists():
            return None
        state = torch.load(self.path, map_location="cpu", weights_only=True)
        return state if state.get("key") == self.key else None

    def clear(self) -> None:
        self.path.unlink(missing_ok=True)
