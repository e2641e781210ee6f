"""Bad input, each case a clear message before any job runs, a non-zero exit, and the existing
results and MLflow store of the same experiment left exactly as they were."""

import json

import numpy as np
import pandas as pd
import pytest
from reliability_runs import RELIABILITY

from support.runner import snakemake

pytestmark = pytest.mark.e2e


def changed(path: str, value) -> dict:
    """The reliability config with the value at a dotted path replaced (None: removed)."""
    config = json.loads(json.dumps(RELIABILITY))
    *parents, last = path.split(".")
    section = config
    for key in parents:
        section = section.setdefault(key, {})
    if value is None:
        section.pop(last)
    else:
        section[last] = value
    return config


CONFIG_CASES = {
    "unknown key": (
        changed("finetune.patiences", 3),
        "finetune.patiences: unknown key (did you mean 'patience'?); allowed: allocation, checkpoint_after_s,",
    ),
    "wrong type": (
        changed("finetune.trials_per_parent", "eight"),
        "finetune.trials_per_parent: eight is not allowed; it must be an integer ≥ 1, ≤ 10000",
    ),
    "zero learning rate": (changed("pretrain.space.learning_rate", 0.0), "pretrain.space.learning_rate: 0.0 is not"),
    "negative learning rate": (
        changed("finetune.space.learning_rate", {"type": "float", "low": -0.1, "high": 0.1}),
        "finetune.space.learning_rate: -0.1 is not allowed",
    ),
    "low above high": (
        changed("finetune.space.learning_rate", {"type": "float", "low": 0.1, "high": 0.01}),
        "finetune.space.learning_rate: low (0.1) must not exceed high (0.01)",
    ),
    "log scale from zero": (
        changed("pretrain.space.learning_rate", {"type": "float", "low": 0.0, "high": 0.1, "log": True}),
        "pretrain.space.learning_rate: a log-scaled range needs low > 0",
    ),
    "K above the trials": (changed("pretrain.top_k", 5), "pretrain.top_k (5) exceeds the 2 trials"),
    "negative layers": (
        changed("pretrain.layers", -1),
        "pretrain.layers: -1 is not allowed; it must be an integer ≥ 0, ≤",
    ),
    "ten million trials": (  # once spun for minutes planning them, before any answer
        changed("pretrain.trials_per_parent", 10_000_000),
        "pretrain.trials_per_parent: 10000000 is not allowed; it must be an integer ≥ 1, ≤ 10000",
    ),
    "a billion units": (
        changed("pretrain.space.hidden_units", 1_000_000_000),
        "pretrain.space.hidden_units: 1000000000 is not allowed; it must be an integer in 1..65536",
    ),
    "a huge batch": (
        changed("finetune.space.batch_size", {"type": "int", "low": 32, "high": 10**12}),
        "finetune.space.batch_size: 1000000000000 is not allowed; it must be an integer in 1..1000000",
    ),
    "a billion epochs": (
        changed("finetune.space.max_epochs", 10**9),
        "finetune.space.max_epochs: 1000000000 is not allowed; it must be an integer in 1..100000",
    ),
    "zero pack size": (
        changed("pretrain.pack_size", 0),
        "pretrain.pack_size: 0 is not allowed; it must be an integer ≥ 1",
    ),
    "zero fine-tuning pack size": (
        changed("finetune.pack_size", 0),
        "finetune.pack_size: 0 is not allowed; it must be an integer ≥ 1",
    ),
    "unknown strategy": (
        changed("finetune.strategy", {"name": "bayes"}),
        "finetune.strategy.name: bayes is not allowed; it must be one of random, grid, multires, coordinate, tpe",
    ),
    "unknown distribution": (
        changed("finetune.space.learning_rate", {"type": "gamma", "low": 0.01, "high": 0.1}),
        "finetune.space.learning_rate.type: gamma is not allowed; it must be one of float, int, categorical",
    ),
    "unknown non-linearity": (
        changed("pretrain.space.activation", "swish"),
        "pretrain.space.activation: 'swish' is not allowed; it must be one of sigmoid, tanh",
    ),
    "empty choice list": (
        changed("pretrain.space.activation", {"type": "categorical", "choices": []}),
        "pretrain.space.activation.choices must be a non-empty list",
    ),
    "Bernoulli RBM on data outside [0, 1]": (
        changed("pretrain.space", {**RELIABILITY["pretrain"]["space"], "algorithm": "rbm", "rbm_visible": "bernoulli"}),
        "pretrain.space.rbm_visible: bernoulli needs first-layer inputs in [0, 1]",
    ),
    "unknown data set": (
        changed("data.source", "mnist"),
        "data.source: mnist is not allowed (did you mean 'mnist1d'?); it must be one of mnist1d, digits, file",
    ),
    "unknown transform": (
        changed("preprocess.space.pipeline", "standardize+whiten"),
        "preprocess.space.pipeline: 'standardize+whiten' is not allowed; it must be none, or transforms",
    ),
    "unknown device": (
        changed("device", "tpu"),
        "device: tpu is not allowed (did you mean 'cpu'?); it must be one of auto, cpu, cuda",
    ),
    # what `--config fork_server=false` gives: Snakemake reads only True and False there as booleans
    "fork server not a boolean": (
        changed("fork_server", "false"),
        "fork_server: 'false' is not allowed; it must be true or false",
    ),
}


def table(rows: int, features: int = 4, classes: int = 3, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(rng.normal(size=(rows, features)), columns=[f"f{i}" for i in range(features)])
    frame["label"] = np.arange(rows) % classes
    return frame


def with_nan(frame: pd.DataFrame) -> pd.DataFrame:
    frame.iloc[3, 1] = np.nan
    return frame


DATA_CASES = {
    # name: (train table or raw bytes, test table or None, label column, message)
    "missing file": (None, None, "label", "file not found"),
    "corrupt file": (b"PAR1\x00\x01garbage", None, "label", "cannot read"),
    "missing label column": (table(120), None, "class", "label column 'class' not found"),
    "NaN features": (with_nan(table(120)), None, "label", "row 4, column 'f1' is missing (NaN) (1 rows in all)"),
    "single class": (table(120, classes=1), None, "label", "a single class"),
    "too few rows": (table(6), None, "label", "cannot carve a stratified"),
    "unseen test labels": (table(120), table(30, classes=4), "label", "test labels never seen in training: [3]"),
    "feature counts differ": (table(120), table(30, features=5), "label", "train has 4 features but test has 5"),
}


def data_config(tmp_path, train, test, label_column) -> dict:
    paths = {}
    for name, content in (("train", train), ("test", test)):
        path = tmp_path / f"{name}.{'parquet' if isinstance(content, bytes) else 'csv'}"
        if isinstance(content, bytes):
            path.write_bytes(content)
        elif content is not None:
            content.to_csv(path, index=False)
        paths[name] = str(path) if content is not None or name == "train" else None
    data = {"source": "file", "path": paths["train"], "label_column": label_column}
    return {**RELIABILITY, "data": {**data, **({"test_path": paths["test"]} if paths["test"] else {})}}


def snapshot(run) -> dict:
    """Every file of the results folder (the MLflow store included) with its size, time and bytes' hash."""
    return {
        str(path): (path.stat().st_size, path.stat().st_mtime_ns, hash(path.read_bytes()))
        for path in sorted((run.workdir / "results").rglob("*"))
        if path.is_file()
    }


def refused(run, config: dict, message: str) -> None:
    before = snapshot(run)
    process = snakemake(run.workdir, config)
    output = process.stdout + process.stderr
    assert process.returncode != 0
    assert message in output, output[-3000:]
    assert "rule prepare_data" not in output and "rule init_tracking" not in output  # no job started
    assert snapshot(run) == before


@pytest.mark.parametrize("case", CONFIG_CASES, ids=str)
def test_a_bad_config_is_refused_before_any_job_and_changes_nothing(reference, case):
    config, message = CONFIG_CASES[case]
    refused(reference, config, message)


@pytest.mark.parametrize("case", DATA_CASES, ids=str)
def test_bad_data_is_refused_before_any_job_and_changes_nothing(reference, tmp_path, case):
    train, test, label_column, message = DATA_CASES[case]
    refused(reference, data_config(tmp_path, train, test, label_column), message)
