"""Stacks of pretrained layers: saved as one file per top-K survivor, loaded as a frozen encoder.

A stack file is a dict {"layers": [{"n_in", "n_hidden", "activation", "weight", "bias", "trial_id"}, ...]}
(trial_id: the trial that trained the layer), so it rebuilds its own network with no other input.
"""

import torch

from layerwise.learn.models import ACTIVATIONS

SPEC_KEYS = ("n_in", "n_hidden", "activation")
EMPTY = {"layers": []}


def specs(stack: dict) -> list[dict]:
    return [{key: layer[key] for key in SPEC_KEYS} for layer in stack["layers"]]


def layer_of(encoder: torch.nn.Linear, activation: str) -> dict:
    """A stack layer from the up-pass of a layer learner (an auto-encoder's encoder, an RBM's p(h|v))."""
    return {
        "n_in": encoder.in_features,
        "n_hidden": encoder.out_features,
        "activation": activation,
        "weight": encoder.weight.detach().to("cpu", copy=True),  # stacks are read where no GPU may be
        "bias": encoder.bias.detach().to("cpu", copy=True),
    }


def extend(stack: dict, layer: dict) -> dict:
    return {"layers": [*stack["layers"], layer]}


def load(path: str | None) -> dict:
    return torch.load(path, weights_only=True) if path else EMPTY


def save(stack: dict, path: str) -> None:
    torch.save(stack, path)


def copy_into(stack: dict, network: torch.nn.Sequential) -> None:
    """Copies the stack's weights into the first Linear layers of `network`, in order."""
    linears = [module for module in network if isinstance(module, torch.nn.Linear)]
    with torch.no_grad():
        for linear, layer in zip(linears, stack["layers"], strict=False):  # the output layer stays
            linear.weight.copy_(layer["weight"])
            linear.bias.copy_(layer["bias"])


def encode(stack: dict, x: torch.Tensor) -> torch.Tensor:
    """Features of x through the frozen stack (the input itself for an empty stack).

    Functional on purpose: building modules would draw their initial weights from the global
    generator, and a trial's randomness must not depend on whether its shard computed features first.
    """
    with torch.no_grad():
        for layer in stack["layers"]:
            weight, bias = layer["weight"].to(x.device), layer["bias"].to(x.device)
            x = ACTIVATIONS[layer["activation"]]()(torch.nn.functional.linear(x, weight, bias))
    return x
