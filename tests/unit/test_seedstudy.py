"""The seed study's members: the selected configuration with seeds of their own, refit or not."""

import numpy as np
import pytest
import torch
from tests.support.records import trial_record

from layerwise.data.sets import Split, save_split
from layerwise.files import read_json
from layerwise.learn import stack as stacks
from layerwise.selections import Chosen, Kept, Selection, read_selection, write_selection
from layerwise.stages import finetune
from layerwise.steps.seedstudy import member_trial, retrain
from support.specs import stage_spec


@pytest.fixture()
def study(tmp_path):
    rng = np.random.default_rng(0)
    for name, rows in (("train", 120), ("valid", 40)):
        y = np.arange(rows) % 3
        save_split(
            Split((rng.normal(size=(rows, 5)) + y[:, None]).astype(np.float32), y), str(tmp_path / f"{name}.npz")
        )
    layer = {"n_in": 5, "n_hidden": 4, "activation": "tanh", "weight": torch.zeros(4, 5), "bias": torch.zeros(4)}
    stacks.save({"layers": [{**layer, "trial_id": "layer1-r0-t0000"}]}, str(tmp_path / "stack.pt"))
    kept = Kept(0, "layer1-r0-t0000", str(tmp_path / "stack.pt"))
    write_selection(str(tmp_path / "topk.json"), Selection("layer1", entries=(kept,)))
    params = {**finetune.DEFAULTS, "learning_rate": 0.05, "max_epochs": 30, "batch_size": 16}
    best = trial_record(arm=1, params=params, metrics={"best_epoch": 4})
    write_selection(str(tmp_path / "selected.json"), Selection("finetune", best=Chosen(best, ())))
    return tmp_path


def run(folder, member, refit=False):
    spec = stage_spec(stage="finetune", patience=3)
    return retrain(
        str(folder / "selected.json"), str(folder / "train.npz"), str(folder / "valid.npz"), str(folder / "topk.json"),
        spec, member, refit, str(folder / f"{member}.pt"), str(folder / f"{member}.json"), 1,
    )  # fmt: skip


def test_members_keep_the_selected_configuration_with_seeds_of_their_own(study):
    best = read_selection(str(study / "selected.json")).best.record
    trials = [member_trial(best, 0, member) for member in ("seed0", "seed1", "seed2")]
    assert len({trial.seed for trial in trials}) == 3
    assert all(trial.params == best.params and trial.parent_rank is None for trial in trials)
    first, second = run(study, "seed0"), run(study, "seed1")
    assert first["valid_error"] is not None and first["best_epoch"] <= 30
    assert not torch.equal(
        torch.load(first["weights"])["state_dict"]["0.weight"], torch.load(second["weights"])["state_dict"]["0.weight"]
    )


def test_a_refit_trains_on_train_and_valid_for_the_chosen_epochs(study):
    record = run(study, "seed0", refit=True)
    assert record["refit"] and record["valid_error"] is None  # validation data was training data
    assert record["best_epoch"] == 4  # no early stopping: exactly the epochs the selected trial chose
    assert read_json(str(study / "seed0.json")) == record
    refit = torch.load(record["weights"])["state_dict"]["0.weight"]
    alone = run(study, "seed0")  # the same seed trained as the search trained: other data, other weights
    assert alone["valid_error"] is not None
    assert not torch.equal(torch.load(alone["weights"])["state_dict"]["0.weight"], refit)
