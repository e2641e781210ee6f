"""A trial in a pack, and what one update of a pack computes per trial.

A `Member` is a trial of a pack: its own generator (batch order), learning rates and schedule,
penalties, curves and early stopping, as `training.fit` gives it alone. `Update` computes each
update's learning rates and weight penalties in the order the trial's optimizer and loss compute them
alone, so they round alike, and `sgd_update` is torch.optim.SGD's step with one rate and one momentum
per trial (bit for bit).
"""

import torch

from layerwise.learn.optim import SGDSettings, lr_factor
from layerwise.learn.training import EarlyStopping, record_epoch


def column(values, device, dtype=torch.float32) -> torch.Tensor:
    """One value per trial, shaped to scale a (trials, rows, columns) tensor."""
    return torch.tensor(values, dtype=dtype, device=device).view(-1, 1, 1)


class Member:
    """A trial in a pack: its model, hyper-parameters, generator, schedule, curves and early stopping
    (on the validation scores `stop_on`, over at most `epochs` epochs), and per layer (bottom to top)
    its (l1, l2) `penalties` and learning-rate `scales`, as its optimizer alone has them (optim.py);
    its `checkpoint` (checkpoint.py), if any, says where it saves its state when its training ends."""

    def __init__(
        self,
        model,
        params,
        generator,
        listener,
        updates_per_epoch,
        epochs,
        patience,
        stop_on,
        penalties,
        scales,
        checkpoint=None,
    ):
        self.model, self.params, self.generator, self.listener = model, params, generator, listener
        self.epochs, self.patience, self.stop_on = epochs, patience, stop_on
        self.penalties, self.scales, self.checkpoint = penalties, scales, checkpoint
        self.sgd = SGDSettings.of(params)
        self.factor = lr_factor(self.sgd, updates_per_epoch)
        self.history, self.stopping, self.stopped = {"train_loss": []}, EarlyStopping(patience, stop_on), False

    def learning_rates(self, updates_done: int, layer: int) -> tuple[float, float]:
        """(weights, biases) of `layer`: what the trial's optimizer and schedule use alone, computed in
        the same order (optim.make_optimizer, then the schedule's factor), so rounded alike."""
        rate = self.sgd.learning_rate * self.scales[layer]
        bias_rate = rate * self.sgd.bias_lr_scale
        if self.factor is None:
            return rate, bias_rate
        factor = self.factor(updates_done)
        return rate * factor, bias_rate * factor

    def l1_in_gradient(self, layer: int) -> float:
        return 0.0 if self.sgd.proximal_l1 else self.penalties[layer][0]

    def end_of_epoch(self, epoch: int, train_loss: float, scores: dict, snapshot) -> bool:
        """Records the epoch as `training.fit` does (`snapshot()`: the trial's weights now); True: done."""
        record_epoch(self.history, epoch, train_loss, scores, self.listener)
        self.stopped = self.stopping.update(epoch, scores, snapshot)
        return self.stopped or epoch >= self.epochs

    def resume(self, state: dict, best: tuple) -> None:
        """Takes up a saved training state (training.training_state), its best epoch's (score, epoch,
        weights) as the pack's rows hold them."""
        self.history, self.stopped = state["history"], state["stopped"]
        self.stopping = EarlyStopping(self.patience, self.stop_on, best)
        self.generator.set_state(state["generator"])

    def ended(self, epoch: int, state: dict) -> tuple[dict, dict]:
        """(the weights the trial ends with: its best epoch's, with patience; what `training.fit` returns)."""
        final = self.stopping.state if self.stopping.state is not None else state
        best = self.stopping.epoch if self.patience else epoch
        ended = {"history": self.history, "best_epoch": best, "stopped_epoch": epoch, "early_stopped": self.stopped}
        return final, ended


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
    (training.train_epoch, regularization.py), so that a packed trial follows its path alone."""

    def __init__(self, members: list[Member], updates_done: int, rows: int, n_train: int, batch_size: int, device):
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
            l1 = [member.l1_in_gradient(layer) for member in self.members]
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
