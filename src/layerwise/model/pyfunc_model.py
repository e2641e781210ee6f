"""The final model as an MLflow pyfunc model: the folder `mlflow models predict` and `mlflow models
serve` read, that the evaluation run logs and the registry versions.

It holds the fitted preprocessing, the reported network and the data's schema (predictor.py), and a
copy of this package's code, so it needs only the pip requirements it lists. `predict(rows)` returns
the labels; `predict(rows, params={"probabilities": True})` a frame with the label and one
probability per class (columns `probability_<class>`).
"""

from pathlib import Path

import mlflow.pyfunc
import numpy as np
import pandas as pd

from layerwise.model.predictor import LABEL, NETWORK, PREPROCESSOR, SCHEMA, Predictor

PACKAGE = Path(__file__).resolve().parents[1]  # layerwise/: the model folder carries its code


class FinalModel(mlflow.pyfunc.PythonModel):
    def load_context(self, context) -> None:
        self.predictor = Predictor.load(context.artifacts)

    # Annotated as a frame, MLflow leaves the input to the explicit signature (model_arguments).
    def predict(self, context, model_input: pd.DataFrame, params: dict | None = None):
        rows = model_input if isinstance(model_input, pd.DataFrame) else pd.DataFrame(model_input)
        probabilities = bool((params or {}).get("probabilities", False))
        out = self.predictor.predict(rows, "the model's input", probabilities)
        return out if probabilities else out[LABEL].to_numpy()


def requirements() -> list[str]:
    """What the model imports, at the versions that trained it (MLflow adds itself)."""
    import joblib
    import sklearn
    import torch

    return [
        f"torch=={torch.__version__.split('+')[0]}", f"scikit-learn=={sklearn.__version__}",
        f"pandas=={pd.__version__}", f"numpy=={np.__version__}", f"joblib=={joblib.__version__}",
    ]  # fmt: skip


def model_arguments(preprocessor: str, network: str, schema: str, example: pd.DataFrame) -> dict:
    """What mlflow.pyfunc.save_model and log_model take: the artifacts, the signature (the raw feature
    columns as doubles in, the label out, the `probabilities` parameter) and an input example."""
    from mlflow.models import infer_signature

    artifacts = {PREPROCESSOR: preprocessor, NETWORK: network, SCHEMA: schema}
    labels = Predictor.load(artifacts).predict(example)[LABEL]
    return {
        "python_model": FinalModel(),
        "artifacts": artifacts,
        "signature": infer_signature(example, labels, params={"probabilities": False}),
        "input_example": example,
        "code_paths": [str(PACKAGE)],
        "pip_requirements": requirements(),
    }


def measured(value):
    """A figure as measured, without float32's noise (0.571, not 0.5710000276565552): counts of rows,
    exact to 6 decimals below a million rows."""
    return round(value, 6) if isinstance(value, float) else value


def save(folder: str, arguments: dict) -> None:
    """Writes the model folder whole or not at all: MLflow writes a sibling folder, the record of its
    files is added (digests.py), then it is renamed."""
    import shutil

    from layerwise.model.digests import write_digests

    target = Path(folder)
    partial = target.with_name(f".{target.name}.partial")
    shutil.rmtree(partial, ignore_errors=True)
    mlflow.pyfunc.save_model(str(partial), **arguments)
    write_digests(str(partial))
    shutil.rmtree(target, ignore_errors=True)
    partial.rename(target)


def package(
    network: str, preprocessor: str, schema: str, raw_test: str, summary_path: str, tracking: str,
    register_as: str | None, folder: str,
) -> dict | None:  # fmt: skip
    """Writes the model folder (its input example: the first raw test rows) and logs the model on the
    evaluation run; with `register_as`, registers it (Tracker.log_final_model). Returns the version."""
    import shutil
    import tempfile

    from layerwise.data.sets import read_split
    from layerwise.files import read_json
    from layerwise.track.tracking import Tracker

    columns = read_json(schema)["columns"]
    example = pd.DataFrame(read_split(raw_test).x[:5].astype(np.float64), columns=columns)
    summary = read_json(summary_path)
    tags = {key: measured(summary[key]) for key in ("test_accuracy", "test_error", "valid_error", "reported")}
    with tempfile.TemporaryDirectory() as staging:  # MLflow keeps the artifacts' file names: give them theirs
        staged = [shutil.copyfile(path, Path(staging) / name) for path, name in
                  ((preprocessor, PREPROCESSOR), (network, NETWORK), (schema, SCHEMA))]  # fmt: skip
        arguments = model_arguments(*map(str, staged), example)
        save(folder, arguments)
        return Tracker.from_file(tracking).log_final_model(
            summary["mlflow"]["evaluation_run_id"], arguments, register_as, tags | {"experiment": summary["experiment"]}
        )
