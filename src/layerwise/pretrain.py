"""One pretraining trial: a denoising auto-encoder layer on top of a frozen parent stack."""

from dataclasses import replace

import torch

from layerwise import stack as stacks
from layerwise.models import SPARSITY_WEIGHTS, DenoisingAutoencoder, init_options
from layerwise.readout import ridge_readout_error
from layerwise.training import Diverged, train_autoencoder

DEFAULTS = {
    "hidden_units": 256,
    "learning_rate": 0.01,
    "momentum": 0.9,
    "corruption": 0.2,
    "epochs": 20,
    "batch_size": 32,
    "activation": "sigmoid",
    "l1": 0.0,
    "l2": 0.0,
    "proximal_l1": False,
    "init_scale": 1.0,
    "init_rule": "fan_avg",
    "init_distribution": "uniform",
    "nesterov": False,
    "bias_lr_scale": 1.0,
    "lr_schedule": "constant",
    "lr_tau": 1000,
    "patience": 0,
    "corruption_type": "masking",
    "reconstruction": "squared_error",
    "sparsity_l1": 0.0,
    "sparsity_kl": 0.0,
    "sparsity_target": 0.05,
    "sparsity_student_t": 0.0,
}


def resolve(trial, inputs, spec: dict):
    """The trial as it will run: with tied sizes, a layer above the first takes its parent's width."""
    if spec.get("tie_hidden_units") and trial.parent_rank is not None:
        width = inputs.stack(trial.parent_rank)["layers"][-1]["n_hidden"]
        return replace(trial, params={**trial.params, "hidden_units": width})
    return trial


def run_trial(trial, inputs, spec: dict, weights_path: str, generator: torch.Generator) -> dict:
    """Trains the layer, scores it with the ridge read-out, saves it; returns metrics and history."""
    params = trial.params
    h_train, h_valid = inputs.features(trial.parent_rank)
    if params["reconstruction"] == "cross_entropy" and (h_train.min() < 0 or h_train.max() > 1):
        raise ValueError(
            f"cross_entropy reconstruction needs inputs in [0, 1]; this layer's inputs span "
            f"[{h_train.min().item():.3g}, {h_train.max().item():.3g}] (uniformize them, or use squared_error)"
        )
    model = DenoisingAutoencoder(
        h_train.shape[1],
        params["hidden_units"],
        params["activation"],
        params["corruption"],
        corruption_type=params["corruption_type"],
        reconstruction=params["reconstruction"],
        sparsity={name: params[name] for name in SPARSITY_WEIGHTS},
        init=init_options(params),
    )
    result = train_autoencoder(model, h_train, h_valid, params, generator)
    history = result["history"]
    with torch.no_grad():
        f_train, f_valid = model.encode(h_train), model.encode(h_valid)
    if not (torch.isfinite(f_train).all() and torch.isfinite(f_valid).all()):
        raise Diverged("hidden features are not finite")
    objective = ridge_readout_error(
        f_train, inputs.train.y, f_valid, inputs.valid.y, spec["readout_ridge"], inputs.n_classes
    )
    layer = stacks.layer_of(model.encoder, params["activation"], trial.trial_id)
    torch.save({"layer": layer, "decoder_bias": model.decoder_bias.detach().clone()}, weights_path)
    metrics = {
        "objective": objective,
        "readout_valid_error": objective,
        "reconstruction_train": history["train_loss"][result["best_epoch"] - 1],
        "reconstruction_valid": history["valid_loss"][result["best_epoch"] - 1],
        "best_epoch": result["best_epoch"],
        "stopped_epoch": result["stopped_epoch"],
    }
    return {"objective": objective, "metrics": metrics, "history": history}
