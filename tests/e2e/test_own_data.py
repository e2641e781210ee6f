"""A user's own CSV end to end: a search through `snakemake`, then the model it hands over predicts the
held-back rows through `layerwise predict`, `mlflow models predict`, `mlflow models serve` and the
model registry, with the same labels and the accuracy summary.json reports."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from support.mlflowserver import invocations, model_server
from support.runner import LEAN, Run, smoke_config, snakemake

pytestmark = pytest.mark.e2e
LABELS = np.array(["inner", "middle", "outer"])


def rings(rows: int, seed: int) -> pd.DataFrame:
    """Three classes by distance from the origin: no linear model separates them."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(rows, 4)) * [1.0, 1.0, 0.3, 0.3]
    radius = np.hypot(x[:, 0], x[:, 1])
    frame = pd.DataFrame(x, columns=["north", "east", "noise one", "noise two"])
    frame["kind"] = LABELS[np.digitize(radius, [0.8, 1.4])]
    return frame


@pytest.fixture(scope="module")
def own_run(tmp_path_factory) -> Run:
    # A space, a command substitution and a quote in the path: every value that reaches a shell is quoted.
    folder = tmp_path_factory.mktemp("own data $(touch PWNED) 'q'")
    rings(600, 0).to_csv(folder / "train set.csv", index=False)
    rings(150, 1).to_csv(folder / "test set.csv", index=False)
    data = {
        "source": "file", "path": str(folder / "train set.csv"), "test_path": str(folder / "test set.csv"),
        "label_column": "kind",
    }  # fmt: skip
    config = smoke_config(experiment="rings", data=data, **LEAN)
    run = Run(folder, config, snakemake(folder, config))
    assert run.process.returncode == 0, run.output[-3000:]
    return run


def summary(run: Run) -> dict:
    return json.loads((run.results / "summary.json").read_text())


def layerwise_predict(run: Run, source, destination) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "layerwise", "predict", "--model", str(run.results / "model")]
    return subprocess.run(
        [*command, "--input", str(source), "--output", str(destination)], capture_output=True, text=True
    )


def test_layerwise_predict_on_the_test_file_reproduces_the_reported_accuracy(own_run, tmp_path):
    test = own_run.workdir / "test set.csv"
    done = layerwise_predict(own_run, test, tmp_path / "predictions.csv")
    assert done.returncode == 0, done.stderr
    predictions = pd.read_csv(tmp_path / "predictions.csv")
    assert list(predictions.columns) == ["label", *(f"probability_{label}" for label in LABELS)]
    assert set(predictions.label) <= set(LABELS)  # the labels as the file wrote them
    accuracy = (predictions.label == pd.read_csv(test).kind).mean()
    assert accuracy == pytest.approx(summary(own_run)["test_accuracy"], abs=1e-6)  # float32: the same count


def test_a_bad_row_is_refused_naming_file_row_and_column_and_nothing_is_written(own_run, tmp_path):
    rows = pd.read_csv(own_run.workdir / "test set.csv").astype({"east": object})
    rows.loc[4, "east"] = "far"
    rows.to_csv(tmp_path / "bad.csv", index=False)
    done = layerwise_predict(own_run, tmp_path / "bad.csv", tmp_path / "predictions.csv")
    assert done.returncode == 1
    assert f"{tmp_path / 'bad.csv'}: row 5, column 'east': 'far' is not a number" in done.stderr
    assert not (tmp_path / "predictions.csv").exists()


def test_mlflow_models_predict_and_serve_agree_with_layerwise_predict(own_run, tmp_path):
    test = pd.read_csv(own_run.workdir / "test set.csv")
    features = test.drop(columns=["kind"])
    features.to_csv(tmp_path / "rows.csv", index=False)
    assert layerwise_predict(own_run, tmp_path / "rows.csv", tmp_path / "ours.csv").returncode == 0
    ours = pd.read_csv(tmp_path / "ours.csv").label.tolist()
    model = own_run.results / "model"
    done = subprocess.run(
        [sys.executable, "-m", "mlflow", "models", "predict", "-m", str(model), "-i", str(tmp_path / "rows.csv"),
         "-t", "csv", "-o", str(tmp_path / "mlflow.json"), "--env-manager", "local"],
        capture_output=True, text=True,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    assert [row for row in json.loads((tmp_path / "mlflow.json").read_text())["predictions"]] == ours
    with model_server(model, tmp_path / "serve.log") as base:
        assert invocations(base, features)["predictions"] == ours
        answer = invocations(base, features.head(3), params={"probabilities": True})["predictions"]
    assert [row["label"] for row in answer] == ours[:3]
    assert all(abs(sum(row[f"probability_{label}"] for label in LABELS) - 1.0) < 1e-5 for row in answer)


def test_the_registered_champion_loads_in_a_fresh_python(own_run):
    code = (
        "import sys, mlflow.pyfunc, pandas as pd;"
        "model = mlflow.pyfunc.load_model('models:/rings@champion');"
        "rows = pd.read_csv(sys.argv[1]).drop(columns=['kind']);"
        "print(','.join(model.predict(rows)))"
    )
    test = own_run.workdir / "test set.csv"
    env = {**os.environ, "MLFLOW_TRACKING_URI": own_run.tracking_uri}
    done = subprocess.run([sys.executable, "-c", code, str(test)], capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    loaded = done.stdout.strip().splitlines()[-1].split(",")
    reported = summary(own_run)["test_accuracy"]
    assert (np.array(loaded) == pd.read_csv(test).kind.to_numpy()).mean() == pytest.approx(reported, abs=1e-6)


def test_the_run_records_its_data_lineage(own_run):
    import mlflow

    provenance = json.loads((own_run.results / "provenance.json").read_text())
    files = {Path(entry["path"]).name: entry for entry in provenance["data_files"]}
    assert set(files) == {"train set.csv", "test set.csv"} and all(len(e["sha256"]) == 64 for e in files.values())
    assert provenance["packages"]["optuna"]
    pipeline = mlflow.MlflowClient(own_run.tracking_uri).get_run(summary(own_run)["mlflow"]["pipeline_run_id"])
    logged = {d.dataset.name: d.dataset for d in pipeline.inputs.dataset_inputs}
    assert set(logged) == {"train", "valid", "test"} and all(dataset.digest for dataset in logged.values())
    rows = {name: json.loads(dataset.profile)["features_shape"][0] for name, dataset in logged.items()}
    assert rows["test"] == 150 and rows["train"] + rows["valid"] == 600
    assert json.loads(logged["test"].source)["uri"].endswith("test set.csv")


def test_a_path_that_is_shell_code_stays_a_path(own_run):
    assert "$(touch PWNED)" in str(own_run.workdir)
    assert not list(own_run.workdir.rglob("PWNED")) and not Path("PWNED").exists()


def test_editing_the_data_file_schedules_the_jobs_that_read_it(own_run):
    assert "Nothing to be done" in snakemake(own_run.workdir, own_run.config, "-n").stdout
    path = own_run.workdir / "train set.csv"
    path.write_text("\n".join(path.read_text().splitlines()[:-1]) + "\n")  # a row less
    dry = snakemake(own_run.workdir, own_run.config, "-n")
    assert dry.returncode == 0 and "prepare_data" in dry.stdout and "package_model" in dry.stdout


def test_a_file_with_missing_values_runs_with_impute_and_its_model_fills_them_too(tmp_path):
    frame = rings(500, 2)
    frame.loc[frame.index % 17 == 5, "north"] = np.nan  # a few holes, as real tables have
    frame.to_csv(tmp_path / "holes.csv", index=False)
    data = {"source": "file", "path": str(tmp_path / "holes.csv"), "label_column": "kind", "test_fraction": 0.2}
    refused = smoke_config(experiment="holes", data=data, **LEAN)
    run = snakemake(tmp_path / "refused", refused)
    assert run.returncode != 0 and "row 6, column 'north' is missing (NaN)" in run.stdout + run.stderr
    assert "add impute to every preprocess.space.pipeline" in run.stdout + run.stderr
    config = smoke_config(experiment="holes", data=data, **{**LEAN, "preprocess": {"space": {
        "pipeline": "impute+standardize", "impute_strategy": {"type": "categorical", "choices": ["median", "mean"]},
    }}})  # fmt: skip
    done = Run(tmp_path / "imputed", config, snakemake(tmp_path / "imputed", config))
    assert done.process.returncode == 0, done.output[-3000:]
    table = pd.read_csv(done.results / "trials.csv")
    assert set(table[table.stage == "preprocess"].pipeline) == {"impute+standardize"}
    rows = rings(20, 3).drop(columns=["kind"])
    rows.loc[[0, 4], "north"] = np.nan
    rows.to_csv(tmp_path / "new.csv", index=False)
    predicted = layerwise_predict(done, tmp_path / "new.csv", tmp_path / "labels.csv")
    assert predicted.returncode == 0, predicted.stderr
    assert pd.read_csv(tmp_path / "labels.csv").label.notna().all()


def test_a_data_path_and_a_label_column_that_start_with_a_dash_reach_the_job_as_values(tmp_path):
    frame = rings(200, 0).rename(columns={"kind": "-kind"})
    frame.to_csv(tmp_path / "-train.csv", index=False)
    data = {"source": "file", "path": "-train.csv", "label_column": "-kind", "test_fraction": 0.2}
    config = smoke_config(experiment="dashes", data=data, **LEAN)
    schema = "results/dashes/data/raw/schema.json"  # the job that reads the file, alone
    done = snakemake(tmp_path, config, schema)
    assert done.returncode == 0, (done.stdout + done.stderr)[-3000:]
    assert json.loads((tmp_path / schema).read_text())["columns"] == ["north", "east", "noise one", "noise two"]


def test_a_data_file_replaced_by_one_with_an_older_time_reruns_the_job_that_reads_it(tmp_path):
    import hashlib

    rings(200, 0).to_csv(tmp_path / "data.csv", index=False)
    data = {"source": "file", "path": "data.csv", "label_column": "kind", "test_fraction": 0.2}
    config = smoke_config(experiment="replaced", data=data, **LEAN)
    record = tmp_path / "results" / "replaced" / "data" / "raw" / "files_read.json"
    assert snakemake(tmp_path, config, str(record.relative_to(tmp_path))).returncode == 0
    rings(200, 1).to_csv(tmp_path / "data.csv", index=False)  # other rows, dated before the first run
    os.utime(tmp_path / "data.csv", (0, 0))
    done = snakemake(tmp_path, config, str(record.relative_to(tmp_path)))
    assert done.returncode == 0 and "prepare_data" in done.stdout + done.stderr
    digest = hashlib.sha256((tmp_path / "data.csv").read_bytes()).hexdigest()
    assert json.loads(record.read_text()) == [
        {"path": "data.csv", "size": len((tmp_path / "data.csv").read_bytes()), "sha256": digest}
    ]
