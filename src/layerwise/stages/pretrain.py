"""One pretraining trial: a layer learned without labels on top of a frozen parent stack."""

from dataclasses import replace

import torch

from layerwise import hyperparameters
from layerwise.learn.epochs import UNWATCHED, Diverged, Watch
from layerwise.learn.learners import learner_for
from layerwise.learn.rbm import visible_units_for
from layerwise.learn.readout import readout_error
from layerwise.packs import autoencoders
from layerwise.packs.engine import outcomes
from layerwise.stagespec import StageSpec

ARTIFACT_SUFFIX = ".pt"
DEFAULTS = hyperparameters.defaults("pretrain")


def resolve(trial, inputs, spec: StageSpec):
    """The trial as it will run: only the hyper-parameters its algorithm uses, with tied sizes (a layer
    above the first takes its parent's width) and the RBM's visible units settled by its input."""
    params = {"algorithm": trial.params["algorithm"], **learner_for(trial.params).params}
    if spec.tie_hidden_units and trial.parent_rank is not None:
        params["hidden_units"] = inputs.stack(trial.parent_rank)["layers"][-1]["n_hidden"]
    if params.get("rbm_visible") == "auto":
        params["rbm_visible"] = visible_units_for(inputs.unsupervised(trial.parent_rank), "auto")
    return replace(trial, params=params)


def run_trial(
    trial, inputs, spec: StageSpec, weights_path: str, generator: torch.Generator, watch: Watch = UNWATCHED
) -> dict:
    """Fits the layer's learner on every row it may learn from, scores its features with the read-out (on
    the labelled rows), saves the layer."""
    h_valid = inputs.features(trial.parent_rank)[1]
    learner = learner_for(trial.params).fit(inputs.unsupervised(trial.parent_rank), h_valid, generator, watch)
    return scored(trial, learner, inputs, spec, weights_path)


def pack_key(trial, inputs) -> tuple | None:
    return autoencoders.pack_key(trial.params, trial.parent_rank)


def run_pack(
    trials: list, inputs, spec: StageSpec, weights_paths: list[str], listeners: list, checkpoints: list
) -> list:
    """`run_trial` of trials with one pack key, their layers trained together (packs/autoencoders.py); returns
    each trial's result, or the error that failed it. A layer trains in one go (no halving, no kill
    checkpoint): its `checkpoints` are None."""
    h_train, h_valid = inputs.unsupervised(trials[0].parent_rank), inputs.features(trials[0].parent_rank)[1]
    learners = [learner_for(trial.params) for trial in trials]

    def start(position, generator):
        return learners[position].start(h_train, generator)

    def train(positions, models, generators):
        params, hearing = [learners[p].params for p in positions], [listeners[p] for p in positions]
        return autoencoders.train_pack(models, params, generators, hearing, h_train, h_valid)

    def finish(position, model, result):
        learner = learners[position].finish(model, result, h_train, h_valid)
        return scored(trials[position], learner, inputs, spec, weights_paths[position])

    return outcomes(trials, start, train, finish)


def scored(trial, learner, inputs, spec: StageSpec, weights_path: str) -> dict:
    """The result of a trial whose layer is learned: its features scored by the read-out (readout.py),
    the layer saved."""
    h_train, h_valid = inputs.features(trial.parent_rank)
    f_train, f_valid = learner.transform(h_train), learner.transform(h_valid)
    if not (torch.isfinite(f_train).all() and torch.isfinite(f_valid).all()):
        raise Diverged("hidden features are not finite")
    objective = readout_error(
        spec.readout, f_train, inputs.train.y, f_valid, inputs.valid.y, spec.readout_ridge, inputs.n_classes
    )
    torch.save({"layer": {**learner.layer_, "trial_id": trial.trial_id}}, weights_path)
    metrics = {
        "objective": objective,
        "readout_valid_error": objective,
        "best_epoch": learner.best_epoch_,
        "stopped_epoch": learner.stopped_epoch_,
    }
    if learner.reconstruction_ is not None:
        metrics |= {f"reconstruction_{split}": error for split, error in learner.reconstruction_.items()}
    return {"objective": objective, "metrics": metrics, "history": learner.history_}
