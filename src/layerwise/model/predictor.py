"""The final model on raw rows: the fitted preprocessing, the reported network and the class labels.

`Predictor` is what `layerwise predict` and the MLflow pyfunc model (pyfunc_model.py) both run, so
that the two give the same answers. Rows are checked before anything is computed, by the rules the
training data passed (data/tables.py): a missing column, a value that is not a number, NaN, infinity
or beyond float32 is refused with the source, the row and the column. The network sees BATCH_ROWS
rows at a time, so its memory is bounded whatever the number of rows.
"""

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from layerwise.data.tables import DataError, numbers, refuse_non_finite
from layerwise.data.transforms import imputes, transform
from layerwise.files import read_json

# The files a model folder's artifacts hold, by name.
PREPROCESSOR, NETWORK, SCHEMA = "preprocessor.joblib", "network.pt", "schema.json"
LABEL, PROBABILITY = "label", "probability_"  # the output columns: the label, one probability per class
BATCH_ROWS = 8192  # rows through the network at once: a few tens of MB of activations for the widest layers


@dataclass
class Predictor:
    columns: list[str]  # the raw feature columns, in the order the preprocessing takes them
    classes: list  # the class labels, in their original type, in the order of the network's outputs
    preprocessor: object  # a fitted scikit-learn Pipeline
    network: torch.nn.Module

    @classmethod
    def from_folder(cls, folder: str) -> "Predictor":
        """From a model folder pyfunc_model.py wrote (MLflow keeps the artifacts under artifacts/), once
        its files match the record packaging made of them (digests.py)."""
        from layerwise.model.digests import check_digests

        if not Path(folder).is_dir():
            raise DataError(f"{folder}: no model folder there (results/<experiment>/model)")
        artifacts = {name: str(Path(folder) / "artifacts" / name) for name in (PREPROCESSOR, NETWORK, SCHEMA)}
        missing = [path for path in artifacts.values() if not Path(path).exists()]
        if missing:
            raise DataError(f"{folder}: not a layerwise model folder (missing {', '.join(missing)})")
        check_digests(folder)
        return cls.load(artifacts)

    @classmethod
    def load(cls, artifacts: dict[str, str]) -> "Predictor":
        """From the paths of its three artifacts (PREPROCESSOR, NETWORK, SCHEMA); DataError naming the
        file that cannot be loaded."""
        import joblib

        from layerwise.model.network import load_network

        def loaded(name: str, load):
            try:
                return load(artifacts[name])
            except Exception as error:  # a damaged file: its loader says how
                raise DataError(f"{artifacts[name]}: cannot load the model's {name}: {error}") from error

        schema = loaded(SCHEMA, read_json)
        network, _ = loaded(NETWORK, load_network)
        return cls(schema["columns"], schema["classes"], loaded(PREPROCESSOR, lambda path: joblib.load(path)), network)

    def features(self, rows: pd.DataFrame, source: str, first_row: int = 0) -> np.ndarray:
        """The rows' feature columns as float32, as the splits the model was trained on; other columns
        (a label, an id) are ignored. Raises DataError naming `source`, the row (the frame's first being
        row `first_row` + 1) and the column."""
        missing = [column for column in self.columns if column not in rows.columns]
        if missing:
            raise DataError(f"{source}: missing feature columns {missing}; the model reads {self.columns}")
        x = numbers(rows[self.columns], source, first_row)
        refuse_non_finite(x, source, self.columns, imputes(self.preprocessor), first_row=first_row)
        return x.astype(np.float32)

    def probabilities(self, rows: pd.DataFrame, source: str, first_row: int = 0) -> np.ndarray:
        """(rows, classes) class probabilities, BATCH_ROWS rows through the network at a time."""
        x = self.features(rows, source, first_row)
        scores = []
        with torch.no_grad():
            for start in range(0, len(x), BATCH_ROWS):
                batch = transform(self.preprocessor, x[start : start + BATCH_ROWS])
                scores.append(torch.softmax(self.network(torch.from_numpy(batch)), dim=1).numpy())
        return np.concatenate(scores) if scores else np.empty((0, len(self.classes)), np.float32)

    def predict(
        self, rows: pd.DataFrame, source: str = "input", probabilities: bool = False, first_row: int = 0
    ) -> pd.DataFrame:
        """The label of each row (column LABEL), and with `probabilities` one column per class."""
        scores = self.probabilities(rows, source, first_row)
        out = pd.DataFrame({LABEL: np.asarray(self.classes)[scores.argmax(axis=1)]}, index=rows.index)
        if probabilities:
            for index, label in enumerate(self.classes):
                out[f"{PROBABILITY}{label}"] = scores[:, index]
        return out
