"""What one update of a pack computes per trial (each an epochs.Trainee).

`Update` computes each update's learning rates and weight penalties in the order the trial's optimizer
and loss compute them alone, so they round alike, and `sgd_update` is torch.optim.SGD's step with one
rate and one momentum per trial (bit for bit). torch's optimizer itself, each trial's weights
parameters of their own and a parameter group each, costs a pack of 16 auto-encoders 1.45 times the
CPU per update (benchmarks/pack_update.py), which the packs' speed-up could not afford.
"""

import torch


def column(values, device, dtype=torch.float32) -> torch.Tensor:
    """One value per trial, shaped to scale a (trials, rows, columns) tensor."""
    return torch.tensor(values, dtype=dtype, device=device).view(-1, 1, 1)


def sgd_update(model, name: str, gradient, rate) -> None:
    """torch.optim.SGD's step (momentum, optionally Nesterov) with one rate and momentum per trial;
    `model` holds the tensor, its `<name>_velocity`, the `momentum` and `nesterov` columns and
    `nesterov_rows` ("all", "some" or "none")."""
    velocity, momentum = model[f"{name}_velocity"], model["momentum"]
    velocity.mul_(momentum).add_(gradient)
    step = velocity
    if model.nesterov_rows == "all":
        step = gradient.addcmul_(momentum, velocity)
    elif model.nesterov_rows == "some":
        step = torch.where(model["nesterov"], gradient.addcmul_(momentum, velocity), velocity)
    model[name].addcmul_(rate, step, value=-1)


class Update:
    """What one update of a pack's trials needs, per trial: learning rates per layer (as columns) and
    the weight penalty, each computed as the trial's own optimizer and loss compute it alone
    (training.Alone.step, regularization.py), so that a packed trial follows its path alone."""

    def __init__(self, members: list, updates_done: int, rows: int, n_train: int, batch_size: int, device):
        self.members, self.updates_done, self.device = members, updates_done, device
        self.rows, self.n_train, self.batch_size = rows, n_train, batch_size

    def rates(self, layer: int) -> tuple[torch.Tensor, torch.Tensor]:
        """(weights, biases) of `layer`."""
        pairs = [member.learning_rates(self.updates_done, layer) for member in self.members]
        return column([rate for rate, _ in pairs], self.device), column([rate for _, rate in pairs], self.device)

    def penalty(self, weights: list[torch.Tensor]) -> torch.Tensor | None:
        """Each trial's weight penalty over `weights` (bottom to top) as its loss carries it alone:
        (B'/T) * sum(l2 sum W^2 + l1 sum |W|, L1 left out when proximal) / B; differentiable, so its
        gradient is autograd's, as alone. None: no trial has any."""
        total = None
        for layer, weight in enumerate(weights):
            l1 = [0.0 if member.sgd.proximal_l1 else member.penalties[layer][0] for member in self.members]
            l2 = [member.penalties[layer][1] for member in self.members]
            for coefficients, term in ((l2, lambda w: w.pow(2)), (l1, torch.abs)):
                if any(coefficient > 0 for coefficient in coefficients):
                    part = column(coefficients, self.device).view(-1) * term(weight).sum(dim=(1, 2))
                    total = part if total is None else total + part
        return None if total is None else total * (self.rows / self.n_train) / self.batch_size

    def proximal_step(self, weight: torch.Tensor, layer: int) -> None:
        """regularization.proximal_l1_step: soft-thresholds each trial's weights by lr * l1 * (B'/T) / B."""
        if not any(member.sgd.proximal_l1 and member.penalties[layer][0] > 0 for member in self.members):
            return
        thresholds = []
        for member in self.members:
            rate, l1 = member.learning_rates(self.updates_done, layer)[0], member.penalties[layer][0]
            proximal = member.sgd.proximal_l1  # as alone, in this order, so rounded alike
            thresholds.append(rate * l1 * self.rows / (self.n_train * self.batch_size) if proximal else 0.0)
        threshold = column(thresholds, self.device)
        weight.copy_(weight.sign() * (weight.abs() - threshold).clamp(min=0))


def nesterov_rows(nesterov: torch.Tensor) -> str:
    return "all" if nesterov.all() else "some" if nesterov.any() else "none"
