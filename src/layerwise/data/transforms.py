"""Preprocessing: an ordered list of scikit-learn transforms, fitted on the training split only.

A searched pipeline is written as transform names joined by "+" (e.g. "impute+standardize+pca"), or
"none". `impute` fills missing values (scikit-learn's SimpleImputer); data with missing values is
accepted only when every candidate pipeline has it.
"""

import numpy as np

from layerwise.errors import UserError
from layerwise.hyperparameters import NO_TRANSFORM, TRANSFORMS, defaults, transforms_of

# scikit-learn is imported where it is used: most jobs only need the names below, and every job
# pays its imports.

DEFAULTS = defaults("preprocess")  # a step's settings where a trial does not give them


class PreprocessError(UserError, ValueError):
    """A transform that cannot be built or fitted; the message names the step."""


def _nonnegative(function):
    def apply(x):
        if np.any(x < 0):
            raise PreprocessError(
                f"{function.__name__} needs non-negative features; place it before any centering step"
            )
        return function(x)

    apply.__name__ = function.__name__
    return apply


def build_step(step: dict, n_train: int):
    from sklearn.decomposition import PCA
    from sklearn.impute import SimpleImputer
    from sklearn.preprocessing import FunctionTransformer, QuantileTransformer, StandardScaler

    name = step.get("transform")
    if name == "impute":  # with an indicator, one 0/1 column per feature that had missing values in training
        return SimpleImputer(
            strategy=step.get("strategy", DEFAULTS["impute_strategy"]),
            add_indicator=step.get("indicator", DEFAULTS["impute_indicator"]),
        )
    if name == "standardize":
        return StandardScaler()
    if name == "pca":
        return PCA(n_components=step.get("n_components", DEFAULTS["pca_components"]), random_state=0)
    if name == "uniformize":
        # Per-feature empirical CDF: x -> F(x) in [0, 1].
        return QuantileTransformer(output_distribution="uniform", n_quantiles=min(1000, n_train), random_state=0)
    if name == "log1p":
        return FunctionTransformer(_nonnegative(np.log1p))
    if name == "sqrt":
        return FunctionTransformer(_nonnegative(np.sqrt))
    raise PreprocessError(f"preprocess step transform is {name!r}; allowed values: {', '.join(TRANSFORMS)}")


def pipeline_names(pipeline: str) -> list[str]:
    """The transform names of a pipeline string, in order; [] for "none"."""
    names = transforms_of(pipeline)
    unknown = [name for name in names if name not in TRANSFORMS]
    if unknown:
        raise PreprocessError(
            f"pipeline {pipeline!r}: unknown transform {unknown[0]!r}; allowed: "
            f"{NO_TRANSFORM}, or transforms joined by '+' from {', '.join(TRANSFORMS)}"
        )
    return names


# The hyper-parameters of the transforms that have some: what a pipeline step takes from a trial.
STEP_PARAMS = {
    "pca": {"pca_components": "n_components"},
    "impute": {"impute_strategy": "strategy", "impute_indicator": "indicator"},
}


def pipeline_steps(pipeline: str, params: dict) -> list[dict]:
    """The steps of `pipeline`, each with its settings from the trial's `params`."""
    steps = []
    for name in pipeline_names(pipeline):
        settings = STEP_PARAMS.get(name, {})
        steps.append({"transform": name, **{key: params[param] for param, key in settings.items() if param in params}})
    return steps


def candidate_pipelines(space: dict, strategy: dict) -> list[str]:
    """The pipelines a preprocessing config can try (its space's value or choices, and a grid's), read
    from the raw config: cheap enough for every job that needs to know."""
    value = space.get("pipeline", DEFAULTS["pipeline"])
    found = [value] if not isinstance(value, dict) else list(value.get("choices", []))
    found += list(strategy.get("grid", {}).get("pipeline", []))
    return [str(pipeline) for pipeline in found]


def imputes(pipeline) -> bool:
    """Whether a fitted pipeline (or a pipeline string) fills missing values."""
    if isinstance(pipeline, str):  # unchecked yet: the config check names a bad transform
        return "impute" in pipeline.split("+")
    return any(type(step).__name__ == "SimpleImputer" for _, step in pipeline.steps)


def fit_preprocessor(steps: list[dict], x_train: np.ndarray):
    """A fitted scikit-learn Pipeline of the steps in order; an empty list is the identity."""
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import FunctionTransformer

    pipeline = Pipeline(
        [(f"{i}-{step['transform']}", build_step(step, len(x_train))) for i, step in enumerate(steps)]
        or [("identity", FunctionTransformer())]
    )
    # fit_transform, not fit: the last step's function must also run once on the training data,
    # so a transform that cannot apply fails here, before any training.
    pipeline.fit_transform(x_train)
    return pipeline


def transform(pipeline, x: np.ndarray) -> np.ndarray:
    if not len(x):  # scikit-learn refuses no rows; a row of zeros gives the output's width
        return pipeline.transform(np.zeros((1, x.shape[1]))).astype(np.float32)[:0]
    return pipeline.transform(x).astype(np.float32)
