"""Fine-tuning trials trained together as one batched network (batched_classifier.py) follow the path
each follows alone: on a short, well-conditioned search, every epoch's curves, the early-stopping
epoch, the metrics and the saved weights are those of the trial alone, up to float rounding (over
long searches rounding can move the best epoch: see batched_classifier.py)."""

from dataclasses import dataclass

import pytest
import torch

from layerwise.records import TrialRecord
from layerwise.seeding import seed_everything
from layerwise.stages import finetune
from layerwise.stages.inputs import Tensors
from support.specs import stage_spec

TOLERANCE = 1e-4  # relative, on every metric of every epoch
SPEC = stage_spec(stage="finetune", patience=3)

# Every hyper-parameter a packed trial keeps for itself, varied across the pack.
VARIED = [
    {"learning_rate": 0.05, "dropout": 0.3, "max_epochs": 6},
    {"learning_rate": 0.1, "momentum": 0.5, "nesterov": True, "l2_input": 0.1, "l2_output": 0.05, "max_epochs": 4},
    {"learning_rate": 0.08, "lr_schedule": "inverse_time", "lr_tau": 20, "dropout": 0.5, "l1_hidden": 0.05,
     "proximal_l1": True, "l1_input": 0.02, "max_epochs": 8},
    {"learning_rate": 0.03, "momentum": 0.0, "bias_lr_scale": 0.5, "l1_output": 0.02, "layer_lr_decay": 2.0,
     "lr_schedule": "inverse_time_epochs", "lr_tau_epochs": 2, "init_scale": 1.5, "max_epochs": 7},
    {"learning_rate": 0.2, "dropout": 0.1, "init_distribution": "normal", "init_rule": "fan_in", "max_epochs": 12},
]  # fmt: skip


@dataclass
class Inputs:
    """What a shard gives a fine-tuning trial (inputs.StageInputs): the splits and one parent stack."""

    train: Tensors
    valid: Tensors
    stack_of_rank_0: dict
    n_classes: int = 3
    device: torch.device = torch.device("cpu")
    parents: tuple = ({"trial_id": "layer2-r0-t0000"},)

    def stack(self, rank):
        return self.stack_of_rank_0 if rank is not None else {"layers": []}


@pytest.fixture(scope="module")
def inputs():
    generator = torch.Generator().manual_seed(0)
    y = torch.arange(200) % 3
    x = torch.randn(200, 6, generator=generator) + torch.nn.functional.one_hot(y, 6).float() * 1.5
    layers = [
        {"n_in": 6, "n_hidden": 5, "activation": "tanh"},
        {"n_in": 5, "n_hidden": 4, "activation": "sigmoid"},
    ]
    for layer in layers:
        layer |= {
            "weight": torch.randn(layer["n_hidden"], layer["n_in"], generator=generator),
            "bias": torch.zeros(layer["n_hidden"]),
        }
    return Inputs(Tensors(x[:150], y[:150]), Tensors(x[150:], y[150:]), {"layers": layers})


# The no-pretraining arm's own shape: as small as the stack, so that the search stays well conditioned.
SHAPE = {"hidden_layers": 2, "hidden_units": 5, "activation": "tanh"}


def trials(parent_rank, batch_size=16):
    base = {**finetune.DEFAULTS, "batch_size": batch_size, **(SHAPE if parent_rank is None else {})}
    return [
        TrialRecord.planned("finetune", 0, index, 0, parent_rank, 100 + index, {**base, **varied})
        for index, varied in enumerate(VARIED)
    ]


def alone(trial, inputs, path):
    seed_everything(trial.seed)  # as shard.run_one
    return finetune.run_trial(trial, inputs, SPEC, str(path), torch.Generator().manual_seed(trial.seed))


def assert_close(packed, single):
    assert packed["metrics"]["best_epoch"] == single["metrics"]["best_epoch"]
    assert packed["metrics"]["stopped_epoch"] == single["metrics"]["stopped_epoch"]
    assert packed["metrics"] == pytest.approx(single["metrics"], rel=TOLERANCE)
    assert packed["history"].keys() == single["history"].keys()
    for name, values in single["history"].items():
        assert packed["history"][name] == pytest.approx(values, rel=TOLERANCE)


@pytest.mark.parametrize("parent_rank", [0, None], ids=["pretrained", "no-pretraining"])
def test_each_fine_tuning_trial_of_a_pack_ends_where_it_ends_alone(inputs, tmp_path, parent_rank):
    pack = trials(parent_rank)
    heard = [[] for _ in pack]
    listeners = [lambda epoch, metrics, log=log: log.append(epoch) for log in heard]
    paths = [tmp_path / f"packed-{trial.index}.pt" for trial in pack]
    packed = finetune.run_pack(pack, inputs, SPEC, [str(path) for path in paths], listeners, [None] * len(pack))
    for trial, result, path, epochs in zip(pack, packed, paths, heard, strict=True):
        single = alone(trial, inputs, tmp_path / "alone.pt")
        assert_close(result, single)
        assert epochs == list(range(1, single["metrics"]["stopped_epoch"] + 1))  # live curves
        saved, expected = torch.load(path)["state_dict"], torch.load(tmp_path / "alone.pt")["state_dict"]
        assert saved.keys() == expected.keys()
        for name, tensor in expected.items():  # the best epoch's weights, restored
            assert torch.allclose(saved[name], tensor, rtol=TOLERANCE, atol=1e-6), name
    stopped = [result["metrics"]["stopped_epoch"] for result in packed]
    assert any(s < trial.params["max_epochs"] for s, trial in zip(stopped, pack, strict=True))  # early stopping
    assert len(set(stopped)) >= 3  # trials left the pack at different epochs


def test_a_diverging_fine_tuning_trial_leaves_the_pack_and_the_others_go_on(inputs, tmp_path):
    pack = trials(0)[:3]
    pack[1] = TrialRecord.planned(
        "finetune", 0, 1, 0, 0, 101, {**pack[1].params, "learning_rate": 1.0e9, "momentum": 0.9}
    )
    weights = [str(tmp_path / f"{i}.pt") for i in range(3)]
    packed = finetune.run_pack(pack, inputs, SPEC, weights, [None] * 3, [None] * 3)
    assert isinstance(packed[1], Exception) and "became" in str(packed[1])
    for position in (0, 2):
        assert_close(packed[position], alone(pack[position], inputs, tmp_path / "alone.pt"))


def test_fine_tuning_trials_share_a_pack_on_the_same_parent_and_batch_size(inputs):
    first, other = trials(0)[0], trials(0)[3]
    key = finetune.pack_key(first, inputs)
    assert finetune.pack_key(other, inputs) == key  # every other hyper-parameter may differ
    assert finetune.pack_key(trials(None)[0], inputs) != key
    assert finetune.pack_key(trials(0, batch_size=32)[0], inputs) != key
