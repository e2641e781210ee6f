"""Per-epoch metrics reach MLflow while a trial trains, in batches, and equal the trial's own curves."""

import pytest
import torch

from layerwise.learn.epochs import Watch
from layerwise.learn.learners import learner_for
from layerwise.stages import pretrain
from layerwise.track import tracking
from layerwise.track.store import init_tracking
from layerwise.track.tracking import Tracker

EPOCHS = 4


@pytest.fixture()
def trial_run(tmp_path):
    info = init_tracking(f"sqlite:///{tmp_path / 'mlflow.db'}", "live", str(tmp_path / "artifacts"), True)
    stage = Tracker(Tracker(info).open_child("stage", "layer1"))
    return stage, stage.start_trial("layer1", "layer1-r0-t0000", {})


def fit_watching_the_store(tracker: Tracker, run_id: str):
    """Fits a small auto-encoder; returns the learner and how many valid_loss points the store held
    right after each epoch was handed to the live listener."""
    live = tracker.live_metrics(run_id)
    held = []

    def listener(epoch, metrics):
        live(epoch, metrics)
        held.append(len(tracker.client.get_metric_history(run_id, "valid_loss")))

    params = {**pretrain.DEFAULTS, "algorithm": "autoencoder", "hidden_units": 3, "epochs": EPOCHS}
    x = torch.randn(64, 5, generator=torch.Generator().manual_seed(0))
    learner = learner_for(params).fit(x[:48], x[48:], torch.Generator().manual_seed(1), Watch(listener))
    live.flush()
    return learner, held


def test_each_epoch_is_in_the_store_before_the_next_one_trains_when_batches_are_due(trial_run, monkeypatch):
    monkeypatch.setattr(tracking, "LIVE_FLUSH_SECONDS", 0.0)
    tracker, run_id = trial_run
    learner, held = fit_watching_the_store(tracker, run_id)
    assert held == list(range(1, EPOCHS + 1))
    logged = tracker.client.get_metric_history(run_id, "valid_loss")
    assert [point.step for point in logged] == list(range(1, EPOCHS + 1))
    assert [point.value for point in logged] == learner.history_["valid_loss"]


def test_epochs_wait_for_the_next_batch_and_the_last_flush_sends_the_rest(trial_run, monkeypatch):
    monkeypatch.setattr(tracking, "LIVE_FLUSH_SECONDS", 3600.0)
    tracker, run_id = trial_run
    learner, held = fit_watching_the_store(tracker, run_id)
    assert held == [0] * EPOCHS
    for name in ("train_loss", "valid_loss"):
        logged = tracker.client.get_metric_history(run_id, name)
        assert [point.value for point in logged] == learner.history_[name]


def test_without_tracking_the_listener_does_nothing():
    live = Tracker({"enabled": False}).live_metrics(None)
    live(1, {"train_loss": 1.0})
    live.flush()
    assert live.pending == []
