"""The optimizer and learning-rate schedule of every training loop (Bengio 2012, section 3.1).

SGD with momentum (optionally Nesterov); a parameter group per learning rate and weight decay, so
that layers can learn at different rates (layer-wise learning rates in fine-tuning), biases can have
a rate of their own, and each layer's weights carry their own weight decay.
"""

from dataclasses import dataclass, fields

import torch
from torch import nn


@dataclass(frozen=True)
class SGDSettings:
    """A trial's hyper-parameters that set its optimizer, schedule and updates, as a trial alone and a
    pack (packs/members.py) both read them."""

    learning_rate: float
    bias_lr_scale: float
    momentum: float
    nesterov: bool
    lr_schedule: str
    lr_tau: float
    lr_tau_epochs: int
    batch_size: int
    proximal_l1: bool

    @classmethod
    def of(cls, params: dict) -> "SGDSettings":
        return cls(**{setting.name: params[setting.name] for setting in fields(cls)})


def layer_lr_scales(n_layers: int, decay: float) -> list[float]:
    """Learning-rate multipliers from bottom to top: the top layer gets 1, each layer below `decay` times more."""
    return [decay ** (n_layers - 1 - position) for position in range(n_layers)]


def make_optimizer(
    model: nn.Module, sgd: SGDSettings, penalties: list[tuple[float, float]], layer_scales: list[float] | None = None
) -> torch.optim.SGD:
    """SGD over `model`'s Linear layers (bottom to top) and any other parameter (treated as a bias).

    `penalties` holds each layer's (l1, l2) weight-decay coefficients; regularization.py applies them.
    """
    learning_rate, bias_scale = sgd.learning_rate, sgd.bias_lr_scale
    linears = [module for module in model.modules() if isinstance(module, nn.Linear)]
    scales = layer_scales or [1.0] * len(linears)
    # Parameters with the same (lr, l1, l2) share a group: each group costs the optimizer its own
    # kernel calls per update, and with the usual settings every parameter can share one.
    groups, grouped = {}, set()
    for linear, scale, (l1, l2) in zip(linears, scales, penalties, strict=True):
        groups.setdefault((learning_rate * scale, l1, l2), []).append(linear.weight)
        groups.setdefault((learning_rate * scale * bias_scale, 0.0, 0.0), []).append(linear.bias)  # biases: no decay
        grouped |= {id(linear.weight), id(linear.bias)}
    for parameter in model.parameters():  # e.g. an auto-encoder's decoder bias
        if id(parameter) not in grouped:
            groups.setdefault((learning_rate * bias_scale, 0.0, 0.0), []).append(parameter)
    return torch.optim.SGD(
        [{"params": members, "lr": lr, "l1": l1, "l2": l2} for (lr, l1, l2), members in groups.items()],
        lr=learning_rate, momentum=sgd.momentum, nesterov=sgd.nesterov,
    )  # fmt: skip


def inverse_time_factor(tau: float):
    """lr_t / lr_0 = tau / max(t, tau), with t the 1-based update count: constant for tau updates, then 1/t."""
    return lambda updates_done: tau / max(updates_done + 1, tau)


def inverse_epoch_factor(tau_epochs: int, updates_per_epoch: int):
    """lr / lr_0 = tau / max(e, tau), with e the 1-based epoch: constant for tau epochs, then 1/e."""
    return lambda updates_done: tau_epochs / max(updates_done // updates_per_epoch + 1, tau_epochs)


def lr_factor(sgd: SGDSettings, updates_per_epoch: int):
    """lr_t / lr_0 as a function of the updates done so far, or None for a constant learning rate."""
    if sgd.lr_schedule == "inverse_time":
        return inverse_time_factor(sgd.lr_tau)
    if sgd.lr_schedule == "inverse_time_epochs":
        return inverse_epoch_factor(sgd.lr_tau_epochs, updates_per_epoch)
    return None


def make_schedule(optimizer: torch.optim.Optimizer, sgd: SGDSettings, updates_per_epoch: int, updates_done: int = 0):
    """A scheduler stepped once per update, `updates_done` updates along (torch's own resume: each
    group's rate is then its initial rate times the factor there), or None for a constant rate."""
    factor = lr_factor(sgd, updates_per_epoch)
    if factor is None:
        return None
    if updates_done:
        for group in optimizer.param_groups:
            group.setdefault("initial_lr", group["lr"])
    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor, last_epoch=updates_done - 1)
