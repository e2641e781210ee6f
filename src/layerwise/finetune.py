"""One fine-tuning trial: the whole network (pretrained stack + softmax output) trained on labels."""

import torch

from layerwise import stack as stacks
from layerwise.models import build_classifier, init_linear
from layerwise.training import train_classifier

DEFAULTS = {
    "learning_rate": 0.01,
    "momentum": 0.9,
    "batch_size": 32,
    "weight_decay": 0.0,
    "max_epochs": 100,
    "dropout": 0.0,
}


def architecture(inputs, parent_rank: int | None, dropout: float) -> dict:
    """The parent stack's layers; with no parent, the layers of the best stack (same shape, fresh weights)."""
    reference = parent_rank if parent_rank is not None else (0 if inputs.parents else None)
    layers = stacks.specs(inputs.stack(reference))
    return {"n_in": inputs.train.x.shape[1], "layers": layers, "n_classes": inputs.n_classes, "dropout": dropout}


def run_trial(trial, inputs, spec: dict, weights_path: str, generator: torch.Generator) -> dict:
    arch = architecture(inputs, trial.parent_rank, trial.params["dropout"])
    model = build_classifier(arch)
    for module in model:
        if isinstance(module, torch.nn.Linear):
            init_linear(module, 1.0)
    if trial.parent_rank is not None:
        stacks.copy_into(inputs.stack(trial.parent_rank), model)
    result = train_classifier(model, inputs.train, inputs.valid, trial.params, spec["patience"], generator)
    torch.save({"architecture": arch, "state_dict": model.state_dict()}, weights_path)
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
