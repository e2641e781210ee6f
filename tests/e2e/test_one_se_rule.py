"""The final model through `snakemake`: on data a linear model separates, the paired one-standard-error
rule hands the user the logistic baseline, as a network with no hidden layer."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from layerwise.model.network import load_network
from layerwise.present.canvas import draws_something
from support.runner import LEAN, Run, smoke_config, snakemake

pytestmark = pytest.mark.e2e


def test_on_linearly_separable_data_the_final_model_is_the_logistic_baseline(tmp_path):
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 2, 400)
    frame = pd.DataFrame(rng.normal(size=(400, 6)) + 3.0 * labels[:, None], columns=[f"f{i}" for i in range(6)])
    frame["kind"] = np.where(labels == 1, "yes", "no")
    frame.to_csv(tmp_path / "linear.csv", index=False)
    data = {"source": "file", "path": str(tmp_path / "linear.csv"), "label_column": "kind", "test_fraction": 0.25}
    config = smoke_config(experiment="linear", data=data, **LEAN)
    run = Run(tmp_path, config, snakemake(tmp_path, config))
    assert run.process.returncode == 0, run.output[-3000:]
    summary = json.loads((run.results / "summary.json").read_text())
    choice = summary["choice"]
    assert choice["one_se_rule"] and choice["chosen"] == "linear"
    errors = choice["errors"]
    assert errors["linear"] <= errors[choice["best"]] + choice["standard_errors"]["linear"]
    assert summary["reported"] == "linear" and summary["test_accuracy"] == summary["baseline"]["test_accuracy"] > 0.95
    model, architecture = load_network(str(run.results / "model.pt"))
    assert architecture["layers"] == [] and architecture["n_in"] == 6  # a softmax on the preprocessed input
    test = np.load(run.results / "data" / "test.npz")
    with torch.no_grad():
        accuracy = (model(torch.from_numpy(test["x"])).argmax(1).numpy() == test["y"]).mean()
    assert accuracy == pytest.approx(summary["test_accuracy"])
    assert (
        "the simplest within one paired standard error of the best, the logistic baseline"
        in (run.results / "summary.md").read_text()
    )
    shown = subprocess.run(
        [sys.executable, "-m", "layerwise", "best", str(run.results)], capture_output=True, text=True
    )
    assert shown.returncode == 0, shown.stderr
    assert "(the logistic baseline, a network with no hidden layer)" in shown.stdout
    assert "the search's network, not the final model" in shown.stdout and "\nnetwork:" not in shown.stdout
    listed = [Path(line.strip()) for line in shown.stdout.splitlines() if line.strip().endswith(".png")]
    assert listed and all(draws_something(path) for path in listed)
    assert any(not draws_something(path) for path in run.results.glob("*/figures/*.png"))  # preprocess: one pipeline
