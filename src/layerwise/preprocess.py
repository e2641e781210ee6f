"""One preprocessing trial: a candidate pipeline of transforms, scored by the ridge read-out.

Preprocessing is a hyper-parameter like any other (Bengio 2012, section 3.2): each candidate is
fitted on the training split and judged by the same cheap read-out that scores a pretrained layer,
here applied to the transformed input itself. The best candidate preprocesses every later stage.
"""

from dataclasses import replace

import joblib
import torch

from layerwise.readout import readout_error
from layerwise.transforms import fit_preprocessor, pipeline_names, pipeline_steps, transform

ARTIFACT_SUFFIX = ".joblib"
DEFAULTS = {"pipeline": "standardize", "pca_components": 0.99}


def resolve(trial, inputs, spec: dict):
    """Without a PCA step, the number of components is not a setting of the trial."""
    if "pca" in pipeline_names(trial.params["pipeline"]):
        return trial
    return replace(trial, params={"pipeline": trial.params["pipeline"]})


def run_trial(trial, inputs, spec: dict, weights_path: str, generator: torch.Generator) -> dict:
    params = trial.params
    pipeline = fit_preprocessor(
        pipeline_steps(params["pipeline"], params.get("pca_components")), inputs.train.x.numpy()
    )
    x_train = torch.from_numpy(transform(pipeline, inputs.train.x.numpy()))
    x_valid = torch.from_numpy(transform(pipeline, inputs.valid.x.numpy()))
    objective = readout_error(
        spec["readout"], x_train, inputs.train.y, x_valid, inputs.valid.y, spec["readout_ridge"], inputs.n_classes
    )
    joblib.dump(pipeline, weights_path)
    metrics = {"objective": objective, "readout_valid_error": objective, "n_features": x_train.shape[1]}
    return {"objective": objective, "metrics": metrics, "history": {}}
