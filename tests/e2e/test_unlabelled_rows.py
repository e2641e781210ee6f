"""Rows without a label through `snakemake`: kept apart from every labelled split, used where no label is
needed (the preprocessing's fit, the layers' pretraining), counted in the summary; and a run without
pretrained layers, whose fine-tuning is the no-pretraining arm alone."""

import json

import joblib
import numpy as np
import pandas as pd
import pytest

from support.runner import LEAN, Run, smoke_config, snakemake

pytestmark = pytest.mark.e2e


def blobs(rows: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    labels = np.arange(rows) % 3
    frame = pd.DataFrame(rng.normal(size=(rows, 5)) + labels[:, None], columns=[f"f{i}" for i in range(5)])
    return frame.assign(label=labels)


@pytest.fixture(scope="module")
def unlabelled_run(tmp_path_factory) -> Run:
    folder = tmp_path_factory.mktemp("unlabelled")
    train = blobs(600, 0).astype({"label": float})
    train.loc[train.index % 4 != 0, "label"] = np.nan  # a quarter keeps its label: 150 rows
    train.to_csv(folder / "train.csv", index=False)
    blobs(90, 1).to_csv(folder / "test.csv", index=False)
    blobs(100, 2).drop(columns="label").to_csv(folder / "more.csv", index=False)
    data = {
        "source": "file", "path": str(folder / "train.csv"), "test_path": str(folder / "test.csv"),
        "unlabelled_path": str(folder / "more.csv"),
    }  # fmt: skip
    config = smoke_config(experiment="unlabelled", data=data, pretrain={"layers": 1}, **LEAN)
    run = Run(folder, config, snakemake(folder, config))
    assert run.process.returncode == 0, run.output[-3000:]
    return run


def test_unlabelled_rows_are_counted_apart_and_reach_only_preprocessing_and_pretraining(unlabelled_run):
    summary = json.loads((unlabelled_run.results / "summary.json").read_text())
    assert summary["rows"] == {"train": 120, "valid": 30, "test": 90, "unlabelled": 450 + 100}
    assert (
        "550 rows without a label, used only to fit the preprocessing and to pretrain the layers"
        in (unlabelled_run.results / "summary.md").read_text()
    )
    with np.load(unlabelled_run.results / "data" / "unlabelled.npz") as preprocessed:
        assert preprocessed["x"].shape == (550, 5) and set(preprocessed["y"]) == {-1}
    with np.load(unlabelled_run.results / "data" / "train.npz") as train:
        assert len(train["y"]) == 120 and train["y"].min() >= 0  # fine-tuning sees labelled rows only
    scaler = joblib.load(unlabelled_run.results / "data" / "preprocessor.joblib").steps[-1][1]
    assert scaler.n_samples_seen_ == 120 + 550  # fitted on the training rows and the unlabelled ones


def test_a_run_without_pretrained_layers_fine_tunes_the_no_pretraining_arm_alone(tmp_path):
    config = smoke_config(experiment="no-layers", pretrain={"layers": 0}, **LEAN)
    run = Run(tmp_path, config, snakemake(tmp_path, config))
    assert run.process.returncode == 0, run.output[-3000:]
    trials = pd.read_csv(run.results / "trials.csv")
    assert list(trials.stage.unique()) == ["preprocess", "finetune"]
    assert trials[trials.stage == "finetune"].parent_trial.isna().all()
    summary = json.loads((run.results / "summary.json").read_text())
    assert not summary["selected"]["pretrained"] and summary["pretraining_comparison"]["pretrained"] is None
