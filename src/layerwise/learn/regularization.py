"""Weight decay as Bengio (2012, section 3.2) states it: L1 and L2 on weights only, never biases.

The training criterion over T examples is  sum_t L(x_t) + sum_layers (l1 * sum|W| + l2 * sum W^2).
A mini-batch of B' examples therefore carries the penalty scaled by B'/T: B/T for a full batch of
B, and B'/B of that for the last, short one. The coefficients live in the optimizer's parameter
groups (see optim.py), so each layer can have its own. With proximal L1, the L1
term leaves the gradient and becomes a soft-threshold step after each update, which sets weights
to exactly zero where plain SGD would only make them small.
"""

import torch


def layer_group(position: int, n_layers: int) -> str:
    """The coefficient group of the Linear layer at `position` (0 = bottom) of `n_layers`."""
    if position == 0:
        return "input"
    return "output" if position == n_layers - 1 else "hidden"


def classifier_coefficients(params: dict, n_layers: int) -> list[tuple[float, float]]:
    """(l1, l2) of each layer of a classifier, from its input, hidden and output coefficients."""
    groups = [layer_group(position, n_layers) for position in range(n_layers)]
    return [(params[f"l1_{group}"], params[f"l2_{group}"]) for group in groups]


def penalized_groups(optimizer: torch.optim.Optimizer):
    return [group for group in optimizer.param_groups if group["l1"] > 0 or group["l2"] > 0]


def weight_penalty(optimizer: torch.optim.Optimizer, batch: int, n_train: int, proximal_l1: bool) -> torch.Tensor:
    """(B'/T) * sum over weight groups of l1*sum|W| (unless proximal) + l2*sum W^2."""
    total = torch.zeros(())
    for group in penalized_groups(optimizer):
        for weight in group["params"]:
            if group["l2"] > 0:
                total = total + group["l2"] * weight.pow(2).sum()
            if group["l1"] > 0 and not proximal_l1:
                total = total + group["l1"] * weight.abs().sum()
    return total * (batch / n_train)


@torch.no_grad()
def proximal_l1_step(optimizer: torch.optim.Optimizer, batch: int, n_train: int, batch_size: int) -> None:
    """Soft-thresholds each weight by lr * l1 * (B'/T) / B, the L1 share of this update."""
    for group in penalized_groups(optimizer):
        threshold = group["lr"] * group["l1"] * batch / (n_train * batch_size)
        if threshold > 0:
            for weight in group["params"]:
                weight.copy_(weight.sign() * (weight.abs() - threshold).clamp(min=0))
