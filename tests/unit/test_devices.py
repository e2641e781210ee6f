"""The config's `device`: resolved on the machine a job runs on, never a silent fall-back."""

import pytest
import torch

from layerwise.command.cli import main
from layerwise.learn.devices import DeviceError, resolve_device
from support.specs import stage_spec


def test_cpu_is_the_cpu():
    assert resolve_device("cpu") == torch.device("cpu")


@pytest.mark.parametrize("has_gpu, expected", [(True, "cuda"), (False, "cpu")])
def test_auto_takes_a_gpu_where_there_is_one(monkeypatch, has_gpu, expected):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: has_gpu)
    assert resolve_device("auto") == torch.device(expected)


def test_cuda_without_a_gpu_is_an_error_naming_the_key_and_the_alternatives(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(DeviceError, match=r"device: cuda.*no CUDA device.*auto or cpu"):
        resolve_device("cuda")


def test_an_unknown_device_names_the_allowed_ones():
    with pytest.raises(DeviceError, match="auto, cpu, cuda"):
        resolve_device("tpu")


def test_a_shard_asked_for_cuda_without_a_gpu_stops_with_that_reason(monkeypatch, capsys, tmp_path):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    (tmp_path / "spec.json").write_text(stage_spec().to_json())
    paths = {flag: f"missing-{flag}" for flag in ("--train", "--valid", "--tracking", "--records", "--weights")}
    arguments = ["step", "shard", "--spec", str(tmp_path / "spec.json"), "--round", "0", "--shard", "0"]
    arguments += [x for pair in paths.items() for x in pair]
    with pytest.raises(SystemExit) as stopped:
        main([*arguments, "--device", "cuda"])
    assert stopped.value.code == 1
    assert "layerwise shard: error: device: cuda, but torch sees no CUDA device" in capsys.readouterr().err
