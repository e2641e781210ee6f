"""A long trial's training state saved each epoch: an attempt killed mid-training resumes from it to
exactly the numbers of an uninterrupted one."""

import hashlib
import json

import pytest
import torch

from layerwise.data.sets import Split
from layerwise.learn.checkpoint import Checkpoint, trial_key
from layerwise.learn.epochs import Watch
from layerwise.learn.models import build_classifier
from layerwise.learn.training import train_classifier
from layerwise.stages import finetune

EPOCHS = 6
# Dropout draws from torch's global generator, the batch order from the trial's own, the schedule counts
# updates and momentum has a state: a resumed attempt must restore each of them.
PARAMS = {**finetune.DEFAULTS, "max_epochs": EPOCHS, "batch_size": 16, "dropout": 0.3, "lr_schedule": "inverse_time",
          "lr_tau": 20, "learning_rate": 0.05}  # fmt: skip


class Killed(BaseException):
    pass


def data():
    generator = torch.Generator().manual_seed(0)
    y = torch.arange(160) % 3
    x = torch.randn(160, 6, generator=generator) + y[:, None].float()
    return Split(x[:120], y[:120]), Split(x[120:], y[120:])


def attempt(checkpoint=None, kill_at=None, patience=EPOCHS, epochs=EPOCHS):
    """One attempt of the same trial from its start (same seeds), killed after epoch `kill_at` if given."""
    torch.manual_seed(1)
    model = build_classifier({"n_in": 6, "layers": [{"n_in": 6, "n_hidden": 8, "activation": "tanh"}],
                              "n_classes": 3, "dropout": 0.3})  # fmt: skip
    seen = []

    def listener(epoch, metrics):
        seen.append(epoch)
        if epoch == kill_at:
            raise Killed

    train, valid = data()
    params, generator = {**PARAMS, "max_epochs": epochs}, torch.Generator().manual_seed(2)
    result = train_classifier(model, train, valid, params, patience, generator, [1.0, 1.0], Watch(listener, checkpoint))
    return result, model.state_dict(), seen


def test_an_attempt_killed_mid_training_resumes_to_the_uninterrupted_numbers(tmp_path, capsys):
    expected, weights, _ = attempt()
    checkpoint = Checkpoint(tmp_path / "trial.pt", trial_key(PARAMS, 0, ""), after_seconds=0)
    with pytest.raises(Killed):
        attempt(checkpoint, kill_at=4)  # epoch 4 was not saved yet: the checkpoint holds epoch 3
    result, resumed_weights, seen = attempt(checkpoint)
    assert "resumed from the saved state after epoch 3" in capsys.readouterr().out
    assert seen == list(range(1, EPOCHS + 1))  # epochs 1-3 replayed to the listener, 4-6 trained
    assert result["history"] == expected["history"] and result["valid_error"] == expected["valid_error"]
    assert all(torch.equal(resumed_weights[name], weights[name]) for name in weights)


def test_a_checkpoint_of_another_configuration_is_ignored(tmp_path):
    expected, _, _ = attempt()
    with pytest.raises(Killed):
        attempt(Checkpoint(tmp_path / "trial.pt", "other-config", after_seconds=0), kill_at=4)
    result, _, seen = attempt(Checkpoint(tmp_path / "trial.pt", trial_key(PARAMS, 0, ""), after_seconds=0))
    assert seen == list(range(1, EPOCHS + 1)) and result["history"] == expected["history"]


def test_a_checkpoint_in_an_earlier_form_is_ignored_not_a_failure(tmp_path):
    """A run taken up by a newer version: a kill checkpoint it left in the form of before the state held
    the optimizer's state_dict (momentum buffers by name) is not this version's; the trial starts over."""
    expected, _, _ = attempt()
    key = trial_key(PARAMS, 0, "")
    earlier = {"key": hashlib.sha256(json.dumps({"params": PARAMS, "seed": 0, "spec": ""}, sort_keys=True,
               default=str).encode()).hexdigest()[:16], "epoch": 3, "velocities": {}, "weights": {}}  # fmt: skip
    torch.save(earlier, tmp_path / "trial.pt")
    result, _, seen = attempt(Checkpoint(tmp_path / "trial.pt", key, after_seconds=0))
    assert seen == list(range(1, EPOCHS + 1)) and result["history"] == expected["history"]


def test_a_short_trial_writes_no_checkpoint_and_keys_tell_configurations_apart(tmp_path):
    attempt(Checkpoint(tmp_path / "trial.pt", "key", after_seconds=3600))
    assert not (tmp_path / "trial.pt").exists()
    assert trial_key(PARAMS, 0, "") != trial_key({**PARAMS, "dropout": 0.2}, 0, "") != trial_key(PARAMS, 1, "")


def test_a_trial_continued_from_the_end_of_a_shorter_budget_reaches_the_numbers_of_one_trained_straight(tmp_path):
    """Successive halving: a rung saves the state its trial ends with, and the next rung goes on from it."""
    expected, weights, _ = attempt()
    first, _, _ = attempt(Checkpoint(end=tmp_path / "rung0.pt"), epochs=2)
    assert first["stopped_epoch"] == 2 and (tmp_path / "rung0.pt").exists()
    second, _, seen = attempt(Checkpoint(start=tmp_path / "rung0.pt", end=tmp_path / "rung1.pt", logged=2), epochs=4)
    assert seen == [3, 4]  # the run already shows epochs 1-2
    result, continued_weights, seen = attempt(Checkpoint(start=tmp_path / "rung1.pt", logged=4))
    assert seen == [5, 6] and second["history"]["valid_loss"] == expected["history"]["valid_loss"][:4]
    assert result["history"] == expected["history"] and result["best_epoch"] == expected["best_epoch"]
    assert all(torch.equal(continued_weights[name], weights[name]) for name in weights)


def test_a_trial_its_early_stopping_ended_trains_no_further_when_continued(tmp_path):
    ended, weights, _ = attempt(Checkpoint(end=tmp_path / "rung0.pt"), patience=1, epochs=40)
    assert ended["early_stopped"] and ended["stopped_epoch"] < 40
    logged = ended["stopped_epoch"]
    result, continued_weights, seen = attempt(
        Checkpoint(start=tmp_path / "rung0.pt", logged=logged), patience=1, epochs=80
    )
    assert seen == [] and result["history"] == ended["history"] and result["stopped_epoch"] == ended["stopped_epoch"]
    assert all(torch.equal(continued_weights[name], weights[name]) for name in weights)
