"""The final model on raw rows: the fitted preprocessing, the reported network and the class labels.

`Predictor` is what `layerwise predict` and the MLflow pyfunc model (pyfunc_model.py) both run, so
that the two give the same answers. Rows are checked before anything is computed: a missing column,
a value that is not a number, NaN or infinity is refused with the source, the row and the column.
"""

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from layerwise.data.sets import DataError, array_columns, first_non_number, read_frame, read_npz, refuse_non_finite
from layerwise.data.transforms import imputes, transform
from layerwise.files import read_json

# The files a model folder's artifacts hold, by name.
PREPROCESSOR, NETWORK, SCHEMA = "preprocessor.joblib", "network.pt", "schema.json"
LABEL, PROBABILITY = "label", "probability_"  # the output columns: the label, one probability per class


@dataclass
class Predictor:
    columns: list[str]  # the raw feature columns, in the order the preprocessing takes them
    classes: list  # the class labels, in their original type, in the order of the network's outputs
    preprocessor: object  # a fitted scikit-learn Pipeline
    network: torch.nn.Module

    @classmethod
    def from_folder(cls, folder: str) -> "Predictor":
        """From a model folder pyfunc_model.py wrote (MLflow keeps the artifacts under artifacts/)."""
        artifacts = {name: str(Path(folder) / "artifacts" / name) for name in (PREPROCESSOR, NETWORK, SCHEMA)}
        missing = [path for path in artifacts.values() if not Path(path).exists()]
        if missing:
            raise DataError(f"{folder}: not a layerwise model folder (missing {', '.join(missing)})")
        return cls.load(artifacts)

    @classmethod
    def load(cls, artifacts: dict[str, str]) -> "Predictor":
        """From the paths of its three artifacts (PREPROCESSOR, NETWORK, SCHEMA)."""
        import joblib

        from layerwise.model.network import load_network

        schema = read_json(artifacts[SCHEMA])
        network, _ = load_network(artifacts[NETWORK])
        return cls(schema["columns"], schema["classes"], joblib.load(artifacts[PREPROCESSOR]), network)

    def features(self, rows: pd.DataFrame, source: str) -> np.ndarray:
        """The rows' feature columns as float32, as the splits the model was trained on; other columns
        (a label, an id) are ignored. Raises DataError naming `source`, the row and the column."""
        missing = [column for column in self.columns if column not in rows.columns]
        if missing:
            raise DataError(f"{source}: missing feature columns {missing}; the model reads {self.columns}")
        features = rows[self.columns]
        for column in self.columns:
            values = features[column]
            if not (pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)):
                row = first_non_number(values)
                raise DataError(f"{source}: row {row + 1}, column {column!r}: {values.iloc[row]!r} is not a number")
        x = features.to_numpy(dtype=np.float64)
        refuse_non_finite(x, source, self.columns, allow_missing=imputes(self.preprocessor))
        return x.astype(np.float32)

    def probabilities(self, rows: pd.DataFrame, source: str) -> np.ndarray:
        """(rows, classes) class probabilities."""
        x = transform(self.preprocessor, self.features(rows, source))
        with torch.no_grad():
            return torch.softmax(self.network(torch.from_numpy(x)), dim=1).numpy()

    def predict(self, rows: pd.DataFrame, source: str = "input", probabilities: bool = False) -> pd.DataFrame:
        """The label of each row (column LABEL), and with `probabilities` one column per class."""
        scores = self.probabilities(rows, source)
        out = pd.DataFrame({LABEL: np.asarray(self.classes)[scores.argmax(axis=1)]}, index=rows.index)
        if probabilities:
            for index, label in enumerate(self.classes):
                out[f"{PROBABILITY}{label}"] = scores[:, index]
        return out


def read_rows(path: str, columns: list[str]) -> pd.DataFrame:
    """Rows from a CSV, Parquet or NPZ file. An NPZ's array `x` has no column names: its columns are
    `columns` (the model's) when it has as many, else x0, x1, ..."""
    file = Path(path)
    if not file.exists():
        raise DataError(f"{path}: file not found")
    if file.suffix in (".csv", ".parquet"):
        return read_frame(path)
    if file.suffix == ".npz":
        x = np.atleast_2d(read_npz(path, ("x",))["x"])
        return pd.DataFrame(x, columns=columns if x.shape[1] == len(columns) else array_columns(x.shape[1]))
    raise DataError(f"{path}: unsupported file type {file.suffix!r}; allowed: .csv, .parquet, .npz")


def write_rows(frame: pd.DataFrame, path: str) -> None:
    """CSV or Parquet by the suffix, written whole or not at all (a temporary file, then renamed)."""
    file = Path(path)
    if file.suffix not in (".csv", ".parquet"):
        raise DataError(f"{path}: unsupported output type {file.suffix!r}; allowed: .csv, .parquet")
    partial = file.with_name(f".{file.name}.partial")
    if file.suffix == ".csv":
        frame.to_csv(partial, index=False)
    else:
        frame.to_parquet(partial, index=False)
    partial.replace(file)


def predict_file(model: str, source: str, destination: str) -> pd.DataFrame:
    """`layerwise predict`: each row's label and class probabilities, from `source` to `destination`;
    on any error nothing is written."""
    predictor = Predictor.from_folder(model)
    predictions = predictor.predict(read_rows(source, predictor.columns), source, probabilities=True)
    write_rows(predictions, destination)
    return predictions
