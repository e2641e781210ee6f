"""One preprocessing trial: a candidate pipeline of transforms, scored by the ridge read-out.

Preprocessing is a hyper-parameter like any other (Bengio 2012, section 3.2): each candidate is
fitted on the training split and judged by the same cheap read-out that scores a pretrained layer,
here applied to the transformed input itself. The best candidate preprocesses every later stage.
"""

from dataclasses import replace

import joblib
import torch

from layerwise import hyperparameters
from layerwise.data.transforms import STEP_PARAMS, fit_preprocessor, pipeline_names, pipeline_steps, transform
from layerwise.learn.epochs import UNWATCHED, Watch
from layerwise.learn.readout import readout_error
from layerwise.stagespec import StageSpec

ARTIFACT_SUFFIX = ".joblib"
DEFAULTS = hyperparameters.defaults("preprocess")


def resolve(trial, inputs, spec: StageSpec):
    """A transform's settings are the trial's only when its pipeline has that transform."""
    names = pipeline_names(trial.params["pipeline"])
    unused = {param for name, params in STEP_PARAMS.items() if name not in names for param in params}
    return replace(trial, params={k: v for k, v in trial.params.items() if k not in unused})


def run_trial(
    trial, inputs, spec: StageSpec, weights_path: str, generator: torch.Generator, watch: Watch = UNWATCHED
) -> dict:
    params = trial.params
    rows = torch.cat([inputs.train.x, inputs.unlabelled]).numpy()  # a transform needs no label
    pipeline = fit_preprocessor(pipeline_steps(params["pipeline"], params), rows)
    x_train = torch.from_numpy(transform(pipeline, inputs.train.x.numpy()))
    x_valid = torch.from_numpy(transform(pipeline, inputs.valid.x.numpy()))
    objective = readout_error(
        spec.readout, x_train, inputs.train.y, x_valid, inputs.valid.y, spec.readout_ridge, inputs.n_classes
    )
    joblib.dump(pipeline, weights_path)
    metrics = {"objective": objective, "readout_valid_error": objective, "n_features": x_train.shape[1]}
    return {"objective": objective, "metrics": metrics, "history": {}}


def pack_key(trial, inputs) -> None:
    """A candidate pipeline fits alone (scikit-learn): no pack."""
    return None
