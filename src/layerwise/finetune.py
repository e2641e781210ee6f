"""One fine-tuning trial: the whole network (pretrained stack + softmax output) trained on labels."""

import torch

from layerwise import stack as stacks
from layerwise.models import build_classifier, init_linear, init_options
from layerwise.optim import layer_lr_scales
from layerwise.training import train_classifier

ARTIFACT_SUFFIX = ".pt"
DEFAULTS = {
    "learning_rate": 0.01,
    "momentum": 0.9,
    "batch_size": 32,
    "l1_input": 0.0,
    "l1_hidden": 0.0,
    "l1_output": 0.0,
    "l2_input": 0.0,
    "l2_hidden": 0.0,
    "l2_output": 0.0,
    "proximal_l1": False,
    "max_epochs": 100,
    "dropout": 0.0,
    "nesterov": False,
    "bias_lr_scale": 1.0,
    "layer_lr_decay": 1.0,
    "lr_schedule": "constant",
    "lr_tau": 1000,
    "lr_tau_epochs": 10,
    "init_scale": 1.0,
    "init_rule": "fan_avg",
    "init_distribution": "uniform",
}


def architecture(inputs, parent_rank: int | None, dropout: float) -> dict:
    """The parent stack's layers; with no parent, the layers of the best stack (same shape, fresh weights)."""
    reference = parent_rank if parent_rank is not None else (0 if inputs.parents else None)
    layers = stacks.specs(inputs.stack(reference))
    return {"n_in": inputs.train.x.shape[1], "layers": layers, "n_classes": inputs.n_classes, "dropout": dropout}


def resolve(trial, inputs, spec: dict):
    """Fine-tuning trials run with the hyper-parameters they were drawn with."""
    return trial


def run_trial(trial, inputs, spec: dict, weights_path: str, generator: torch.Generator) -> dict:
    params = trial.params
    arch = architecture(inputs, trial.parent_rank, params["dropout"])
    model = build_classifier(arch)
    linears = [module for module in model if isinstance(module, torch.nn.Linear)]
    for linear in linears:  # the pretrained layers are overwritten next; the output layer keeps this
        init_linear(linear, **init_options(params))
    if trial.parent_rank is not None:
        stacks.copy_into(inputs.stack(trial.parent_rank), model)
    model.to(inputs.device)  # built and initialised on the CPU: the same initial weights on any device
    scales = layer_lr_scales(len(linears), params["layer_lr_decay"])
    result = train_classifier(model, inputs.train, inputs.valid, params, spec["patience"], generator, scales)
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
    }
    return {"objective": result["valid_error"], "metrics": metrics, "history": result["history"]}
