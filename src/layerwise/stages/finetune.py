"""One fine-tuning trial: the whole network (pretrained stack + softmax output) trained on labels.

A trial on a pretrained stack takes the stack's shape; a trial of the no-pretraining arm builds its
own: `hidden_layers` layers of `hidden_units` units of `activation` (0 layers: a softmax regression
on the preprocessed input), so that arm searches width and depth, and stays the control that says
whether pretraining helped.
"""

import itertools
from dataclasses import replace

import torch

from layerwise import hyperparameters
from layerwise.learn import stack as stacks
from layerwise.learn.epochs import UNWATCHED, Watch
from layerwise.learn.models import build_classifier, init_linear, init_options
from layerwise.learn.optim import layer_lr_scales
from layerwise.learn.regularization import classifier_coefficients
from layerwise.learn.training import train_classifier
from layerwise.packs import classifiers
from layerwise.packs.engine import outcomes
from layerwise.stagespec import StageSpec

ARTIFACT_SUFFIX = ".pt"
DEFAULTS = hyperparameters.defaults("finetune")
ARCHITECTURE = ("hidden_layers", "hidden_units", "activation")  # the no-pretraining arm's shape


def architecture(inputs, parent_rank: int | None, params: dict) -> dict:
    """The parent stack's layers; with no parent, `hidden_layers` fresh layers of `hidden_units`."""
    n_in = inputs.train.x.shape[1]
    if parent_rank is not None:
        layers = stacks.specs(inputs.stack(parent_rank))
    else:
        widths = [n_in] + [params["hidden_units"]] * params["hidden_layers"]
        layers = [
            {"n_in": below, "n_hidden": above, "activation": params["activation"]}
            for below, above in itertools.pairwise(widths)
        ]
    return {"n_in": n_in, "layers": layers, "n_classes": inputs.n_classes, "dropout": params["dropout"]}


def resolve(trial, inputs, spec: StageSpec):
    """A trial on a pretrained stack records no shape of its own: the stack's is the one it trains."""
    if trial.parent_rank is None:
        return trial
    return replace(trial, params={k: v for k, v in trial.params.items() if k not in ARCHITECTURE})


def start(trial, inputs) -> tuple:
    """(architecture, network, learning-rate scale per layer): the trial's network, initialised, its
    pretrained layers copied in, on the device."""
    params = trial.params
    arch = architecture(inputs, trial.parent_rank, params)
    model = build_classifier(arch)
    linears = [module for module in model if isinstance(module, torch.nn.Linear)]
    for linear in linears:  # the pretrained layers are overwritten next; the output layer keeps this
        init_linear(linear, **init_options(params))
    if trial.parent_rank is not None:
        stacks.copy_into(inputs.stack(trial.parent_rank), model)
    model.to(inputs.device)  # built and initialised on the CPU: the same initial weights on any device
    return arch, model, layer_lr_scales(len(linears), params["layer_lr_decay"])


def finish(arch: dict, model, result: dict, weights_path: str) -> dict:
    """Saves the trained network; its metrics."""
    state = {name: tensor.cpu() for name, tensor in model.state_dict().items()}  # read where no GPU may be
    torch.save({"architecture": arch, "state_dict": state}, weights_path)
    best = result["best_epoch"] - 1
    # Named apart from the per-epoch histories (train_loss, valid_loss, valid_error) they summarise.
    metrics = {
        "objective": result["valid_error"],
        "best_valid_error": result["valid_error"],
        "best_valid_loss": result["history"]["valid_loss"][best],
        "best_train_loss": result["history"]["train_loss"][best],
        "best_epoch": result["best_epoch"],
        "stopped_epoch": result["stopped_epoch"],
        "early_stopped": float(result["early_stopped"]),  # its patience ran out (1) or its epochs (0)
    }
    return {"objective": result["valid_error"], "metrics": metrics, "history": result["history"]}


def run_trial(
    trial, inputs, spec: StageSpec, weights_path: str, generator: torch.Generator, watch: Watch = UNWATCHED
) -> dict:
    arch, model, scales = start(trial, inputs)
    result = train_classifier(model, inputs.train, inputs.valid, trial.params, spec.patience, generator, scales, watch)
    return finish(arch, model, result, weights_path)


def pack_key(trial, inputs) -> tuple | None:
    """Trials with equal keys can train in one pack; None: alone. On a GPU, dropout draws with a
    kernel of its own, which a pack does not reproduce: a trial with dropout trains alone there."""
    if inputs.device.type == "cuda" and trial.params["dropout"] > 0:
        return None
    shape = tuple(trial.params.get(name) for name in ARCHITECTURE)  # none on a pretrained stack
    return classifiers.pack_key(trial.params, trial.parent_rank, shape)


def run_pack(
    trials: list, inputs, spec: StageSpec, weights_paths: list[str], listeners: list, checkpoints: list
) -> list:
    """`run_trial` of trials with one pack key, their networks trained together (packs/classifiers.py),
    each going on from and saving its state as its `checkpoints` entry says; returns each trial's result,
    or the error that failed it."""
    rng_states = {}

    def begin(position, generator):
        started = start(trials[position], inputs)
        rng_states[position] = torch.get_rng_state()  # where the trial's dropout draws from, alone
        return started

    def train(positions, started, generators):
        params = [trials[p].params for p in positions]
        penalties = [classifier_coefficients(p, len(scales)) for p, (_, _, scales) in zip(params, started, strict=True)]
        return classifiers.train_pack(
            [model for _, model, _ in started], params, penalties, [scales for _, _, scales in started],
            [rng_states[p] for p in positions], generators, [listeners[p] for p in positions],
            spec.patience, inputs.train, inputs.valid, [checkpoints[p] for p in positions],
        )  # fmt: skip

    def end(position, started, result):
        arch, model, _ = started
        return finish(arch, model, result, weights_paths[position])

    return outcomes(trials, begin, train, end)
