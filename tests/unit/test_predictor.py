"""The final model on raw rows: `layerwise predict` and the MLflow pyfunc model give the same labels,
and bad rows are refused with their file, row and column, leaving nothing written."""

import re
import shutil
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
import pytest
import torch

from layerwise.command.cli import run
from layerwise.data.sets import load_and_split
from layerwise.data.tables import DataError, load_table
from layerwise.data.transforms import fit_preprocessor
from layerwise.files import write_json
from layerwise.learn.models import build_classifier
from layerwise.model import predict_files
from layerwise.model import predictor as predictor_module
from layerwise.model.digests import DIGESTS
from layerwise.model.predict_files import predict_file
from layerwise.model.predictor import LABEL, NETWORK, PREPROCESSOR, SCHEMA, Predictor
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
    predict_file(model_folder, str(tmp_path / "rows.csv"), str(tmp_path / "out.csv"))
    ours = pd.read_csv(tmp_path / "out.csv")
    assert list(loaded.predict(rows)) == ours[LABEL].tolist()
    probabilities = loaded.predict(rows, params={"probabilities": True})
    assert np.allclose(probabilities.drop(columns=[LABEL]).to_numpy(), ours.drop(columns=[LABEL]).to_numpy(), atol=1e-6)


def predict_command(model_folder: str, source, destination, capsys) -> str:
    """`layerwise predict`'s one line on stderr, or "" when it succeeds."""
    try:
        run(["predict", "--model", model_folder, "--input", str(source), "--output", str(destination)])
    except SystemExit as ended:
        assert ended.code == 1
        error = capsys.readouterr().err
        assert error.count("\n") == 1 and error.startswith("layerwise predict: error: ")
        return error
    return ""


def test_the_input_is_never_overwritten_and_a_bad_output_is_named_before_anything_is_written(
    model_folder, rows, tmp_path, capsys
):
    source = tmp_path / "rows.csv"
    rows.to_csv(source, index=False)
    before = source.read_bytes()
    (tmp_path / "folder.csv").mkdir()
    (tmp_path / "plain").write_text("")
    refused = {
        source: "is the input file",
        tmp_path / "." / "rows.csv": "is the input file",
        tmp_path / "folder.csv": "is a folder",
        tmp_path / "missing" / "out.csv": f"{tmp_path / 'missing'} does not exist",
        tmp_path / "plain" / "out.csv": f"{tmp_path / 'plain'} is not a folder",
        tmp_path / "out.txt": "unsupported output type '.txt'",
        Path("/proc/self/out.csv"): "/proc/self/out.csv: cannot write",  # a place nobody, not even root, can write
    }
    for destination, message in refused.items():
        assert message in predict_command(model_folder, source, destination, capsys)
    assert source.read_bytes() == before
    assert sorted(path.name for path in tmp_path.iterdir()) == ["folder.csv", "plain", "rows.csv"]  # no partial file
    assert list((tmp_path / "folder.csv").iterdir()) == []


def test_a_boolean_column_is_0_and_1_to_predict_as_to_training(model_folder, rows, tmp_path):
    flags = rows.assign(age=rows.age > 40)
    flags.to_csv(tmp_path / "flags.csv", index=False)
    flags.assign(age=flags.age.astype(float)).to_csv(tmp_path / "numbers.csv", index=False)
    for name in ("flags", "numbers"):
        predict_file(model_folder, str(tmp_path / f"{name}.csv"), str(tmp_path / f"{name}-out.csv"))
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "flags-out.csv"), pd.read_csv(tmp_path / "numbers-out.csv"))
    flags.assign(label=[0, 1] * 20).to_csv(tmp_path / "train.csv", index=False)
    x, _, _ = load_table(str(tmp_path / "train.csv"), "label")
    assert x[:, 2].tolist() == (rows.age > 40).astype(float).tolist()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("height,weight,age\n", "no rows to predict, only the header"),
        ("height,weight,age,age\n1,2,3,4\n", "column name 'age' appears twice (columns 3 and 4)"),
        ("height,weight,age\n1,2,3\n1,2,1e39\n", "row 2, column 'age': 1e+39 is beyond float32's range"),
        ("height,weight,age\n1,2,3\n1,2,3+1j\n", "row 2, column 'age': '3+1j' is not a number"),
    ],
    ids=["header only", "a name twice", "beyond float32", "complex"],
)
def test_a_file_the_model_cannot_answer_is_refused_in_one_line_naming_what_and_where(
    model_folder, tmp_path, capsys, content, message
):
    (tmp_path / "new.csv").write_text(content)
    assert f"{tmp_path / 'new.csv'}: {message}" in predict_command(
        model_folder, tmp_path / "new.csv", tmp_path / "o.csv", capsys
    )
    assert sorted(path.name for path in tmp_path.iterdir()) == ["new.csv"]


def test_an_npz_whose_array_is_not_a_table_is_refused(model_folder, tmp_path, capsys):
    np.savez(tmp_path / "cube.npz", x=np.zeros((2, 3, 3)))
    error = predict_command(model_folder, tmp_path / "cube.npz", tmp_path / "o.csv", capsys)
    assert f"{tmp_path / 'cube.npz'}: array 'x' has 3 dimensions" in error


def test_training_refuses_what_predict_would_refuse_naming_file_row_and_column(tmp_path):
    for content, message in (
        ("a,b,a,label\n1,2,3,x\n4,5,6,y\n", "column name 'a' appears twice (columns 1 and 3)"),
        ("a,b,label\n1,2,x\n4,-5e40,y\n", "row 2, column 'b': -5e+40 is beyond float32's range"),
    ):
        (tmp_path / "train.csv").write_text(content)
        with pytest.raises(DataError, match=re.escape(f"{tmp_path / 'train.csv'}: {message}")):
            load_and_split("file", 0, 0.25, 0.25, path=str(tmp_path / "train.csv"))


def test_predictions_go_through_in_batches_and_a_bad_row_is_named_by_its_row_in_the_file(
    model_folder, rows, tmp_path, monkeypatch
):
    rows.to_csv(tmp_path / "rows.csv", index=False)
    whole = Predictor.from_folder(model_folder).predict(rows, probabilities=True)
    seen = []
    monkeypatch.setattr(predictor_module, "BATCH_ROWS", 4)
    monkeypatch.setattr(predict_files, "BATCH_ROWS", 7)
    original = Predictor.features
    monkeypatch.setattr(
        Predictor, "features", lambda self, batch, *a, **k: seen.append(len(batch)) or original(self, batch, *a, **k)
    )
    predict_file(model_folder, str(tmp_path / "rows.csv"), str(tmp_path / "out.csv"))
    assert seen == [7, 7, 7, 7, 7, 5]  # 40 rows, never more than a batch in memory
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "out.csv"), whole, check_dtype=False, atol=1e-6)
    rows.assign(age=rows.age.where(rows.index != 30, np.nan)).to_csv(tmp_path / "holes.csv", index=False)
    with pytest.raises(DataError, match=re.escape(f"{tmp_path / 'holes.csv'}: row 31, column 'age' is missing")):
        predict_file(model_folder, str(tmp_path / "holes.csv"), str(tmp_path / "out2.csv"))
    assert not (tmp_path / "out2.csv").exists() and not (tmp_path / ".out2.csv.partial").exists()


class Planted:
    """A pickle that, once loaded, leaves a file: what a tampered preprocessor could do."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


def test_a_model_folder_whose_files_changed_since_packaging_is_refused_before_anything_is_unpickled(
    model_folder, tmp_path, capsys
):
    rows_file = tmp_path / "rows.csv"
    pd.DataFrame({"height": [170.0], "weight": [70.0], "age": [40.0]}).to_csv(rows_file, index=False)
    marker = tmp_path / "PWNED"
    for name, change, message in (
        (
            "tampered",
            lambda f: joblib.dump(Planted(marker), f / "artifacts" / PREPROCESSOR),
            "changed since the model was packaged",
        ),
        (
            "truncated",
            lambda f: (f / "artifacts" / NETWORK).write_bytes((f / "artifacts" / NETWORK).read_bytes()[:50]),
            "changed since",
        ),
        ("removed", lambda f: (f / "MLmodel").unlink(), "missing from the model folder"),
        ("unrecorded", lambda f: (f / DIGESTS).unlink(), f"no {DIGESTS}"),
    ):
        folder = tmp_path / name
        shutil.copytree(model_folder, folder)
        change(folder)
        assert message in predict_command(str(folder), rows_file, tmp_path / "o.csv", capsys), name
        assert not marker.exists() and not (tmp_path / "o.csv").exists()
    assert predict_command(model_folder, rows_file, tmp_path / "o.csv", capsys) == ""  # the packaged folder passes


def test_an_artifact_that_cannot_be_loaded_is_named(artifacts, tmp_path):
    broken = dict(artifacts, **{PREPROCESSOR: str(tmp_path / PREPROCESSOR)})
    (tmp_path / PREPROCESSOR).write_bytes(b"not a pickle")
    with pytest.raises(
        DataError, match=re.escape(f"{tmp_path / PREPROCESSOR}: cannot load the model's {PREPROCESSOR}")
    ):
        Predictor.load(broken)


def test_complex_values_handed_to_the_model_are_refused_not_cut_to_their_real_part(artifacts, rows):
    with pytest.raises(DataError, match=re.escape("input: row 1, column 'age': ") + ".* is a complex number"):
        Predictor.load(artifacts).predict(rows.assign(age=rows.age + 1j))
