"""The final model on raw rows: `layerwise predict` and the MLflow pyfunc model give the same labels,
and bad rows are refused with their file, row and column, leaving nothing written."""

import joblib
import numpy as np
import pandas as pd
import pytest
import torch

from layerwise.command.cli import run
from layerwise.data.sets import DataError
from layerwise.data.transforms import fit_preprocessor
from layerwise.files import write_json
from layerwise.learn.models import build_classifier
from layerwise.model.predictor import LABEL, NETWORK, PREPROCESSOR, SCHEMA, Predictor, predict_file
from layerwise.model.pyfunc_model import model_arguments, save

COLUMNS = ["height", "weight", "age"]
CLASSES = ["setosa", "virginica", "versicolor"]


@pytest.fixture(scope="module")
def rows() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame(rng.normal(loc=[170, 70, 40], scale=[10, 15, 12], size=(40, 3)), columns=COLUMNS)


@pytest.fixture(scope="module")
def artifacts(tmp_path_factory, rows) -> dict:
    folder = tmp_path_factory.mktemp("artifacts")
    paths = {name: str(folder / name) for name in (PREPROCESSOR, NETWORK, SCHEMA)}
    joblib.dump(fit_preprocessor([{"transform": "standardize"}], rows.to_numpy(np.float32)), paths[PREPROCESSOR])
    torch.manual_seed(0)
    architecture = {"n_in": 3, "layers": [{"n_in": 3, "n_hidden": 4, "activation": "tanh"}], "n_classes": 3}
    state = build_classifier(architecture).state_dict()
    torch.save({"architecture": architecture, "state_dict": state}, paths[NETWORK])
    write_json(paths[SCHEMA], {"columns": COLUMNS, "classes": CLASSES})
    return paths


@pytest.fixture(scope="module")
def model_folder(tmp_path_factory, artifacts, rows) -> str:
    folder = str(tmp_path_factory.mktemp("model") / "model")
    save(folder, model_arguments(artifacts[PREPROCESSOR], artifacts[NETWORK], artifacts[SCHEMA], rows.head()))
    return folder


def expected_labels(artifacts, rows) -> list:
    """What the network says on the standardized rows, computed here by hand."""
    checkpoint = torch.load(artifacts[NETWORK], weights_only=True)
    network = build_classifier(checkpoint["architecture"])
    network.load_state_dict(checkpoint["state_dict"])
    x = rows.to_numpy(np.float32)
    standardized = (x - x.mean(0)) / x.std(0)
    with torch.no_grad():
        return [CLASSES[i] for i in network(torch.from_numpy(standardized)).argmax(1).tolist()]


def test_predictions_are_labels_in_their_original_type_with_one_probability_per_class(artifacts, rows):
    predictions = Predictor.load(artifacts).predict(rows, probabilities=True)
    assert predictions[LABEL].tolist() == expected_labels(artifacts, rows)
    probabilities = predictions[[f"probability_{label}" for label in CLASSES]].to_numpy()
    assert np.allclose(probabilities.sum(1), 1.0, atol=1e-5)
    assert (np.asarray(CLASSES)[probabilities.argmax(1)] == predictions[LABEL]).all()


def test_extra_columns_are_ignored_and_column_order_does_not_matter(artifacts, rows):
    predictor = Predictor.load(artifacts)
    shuffled = rows[["age", "height", "weight"]].assign(species="?", id=range(len(rows)))
    assert predictor.predict(shuffled)[LABEL].tolist() == predictor.predict(rows)[LABEL].tolist()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda frame: frame.drop(columns=["weight"]), "missing feature columns ['weight']"),
        (lambda frame: frame.assign(age=frame.age.astype(object).where(frame.index != 6, "old")),
         "row 7, column 'age': 'old' is not a number"),
        (lambda frame: frame.assign(height=frame.height.where(frame.index != 3)),
         "row 4, column 'height' is missing (NaN)"),
        (lambda frame: frame.assign(weight=frame.weight.where(frame.index != 0, np.inf)),
         "row 1, column 'weight' is inf"),
    ],
    ids=["missing column", "not a number", "NaN", "infinite"],
)  # fmt: skip
def test_bad_rows_are_refused_naming_the_file_the_row_and_the_column(
    artifacts, model_folder, rows, tmp_path, change, message
):
    source, destination = tmp_path / "new.csv", tmp_path / "predictions.csv"
    change(rows).to_csv(source, index=False)
    with pytest.raises(DataError) as refused:
        predict_file(model_folder, str(source), str(destination))
    assert str(refused.value).startswith(f"{source}: ") and message in str(refused.value)
    assert not destination.exists() and list(tmp_path.iterdir()) == [source]  # nothing written, not even partly


def test_the_command_line_reads_csv_parquet_and_npz_and_writes_the_same_predictions(
    artifacts, model_folder, rows, tmp_path
):
    rows.to_csv(tmp_path / "rows.csv", index=False)
    rows.to_parquet(tmp_path / "rows.parquet", index=False)
    np.savez(tmp_path / "rows.npz", x=rows.to_numpy())  # no column names: the model's, in order
    outputs = []
    for source, destination in (("rows.csv", "out.csv"), ("rows.parquet", "out.parquet"), ("rows.npz", "npz.csv")):
        run(["predict", "--model", model_folder, "--input", str(tmp_path / source),
             "--output", str(tmp_path / destination)])  # fmt: skip
        read = pd.read_csv if destination.endswith(".csv") else pd.read_parquet
        outputs.append(read(tmp_path / destination))
    assert outputs[0][LABEL].tolist() == expected_labels(artifacts, rows)
    for other in outputs[1:]:
        pd.testing.assert_frame_equal(other, outputs[0], check_exact=False, check_dtype=False, atol=1e-6)


def test_the_mlflow_model_predicts_labels_and_on_request_probabilities_as_layerwise_predict_does(
    model_folder, rows, tmp_path
):
    import mlflow.pyfunc

    loaded = mlflow.pyfunc.load_model(model_folder)
    columns = [spec.name for spec in loaded.metadata.get_input_schema().inputs]
    assert columns == COLUMNS
    rows.to_csv(tmp_path / "rows.csv", index=False)
    ours = predict_file(model_folder, str(tmp_path / "rows.csv"), str(tmp_path / "out.csv"))
    assert list(loaded.predict(rows)) == ours[LABEL].tolist()
    probabilities = loaded.predict(rows, params={"probabilities": True})
    assert np.allclose(probabilities.drop(columns=[LABEL]).to_numpy(), ours.drop(columns=[LABEL]).to_numpy(), atol=1e-6)
