"""Trials trained together as one batched model (a pack): what every kind of pack shares.

Each trial of a pack is a `Member`: its own generator (batch order), learning rates and schedule,
penalties, curves and early stopping, as `training.fit` gives it alone. `Update` computes each
update's learning rates and weight penalties in the order the trial's optimizer and loss compute them
alone, so they round alike, and `sgd_update` is torch.optim.SGD's step with one rate and one momentum
per trial (bit for bit); `Batched.descend` makes one update of all the trials of a batched model
from their batch losses; `train_members` runs the epochs, and a trial that is done (its epochs run,
its patience spent, or diverged) leaves the pack while the others go on. `outcomes` starts, trains and
finishes a pack's trials. The batched models themselves are in autoencoders.py (auto-encoder layers) and
classifiers.py (fine-tuning).

A batched model is a `Batched` (its tensors by name, one row per trial) that offers `batch_size`,
`step(members, x, y, updates_done)` (one update of every trial on its own batch, returning each
one's loss), `scores(x_valid, y_valid)` (each trial's validation scores) and `write_back` (a trial's
final weights into its own model).
"""

from collections.abc import Iterator
from functools import partial

import torch

from layerwise.learn.optim import lr_factor
from layerwise.learn.training import Diverged, EarlyStopping, record_epoch, training_state
from layerwise.seeding import seed_everything

VALID_CHUNK = 2**25  # floats of hidden activations per validation pass, to bound a pack's memory


def trial_chunks(trials: int, examples: int, width: int) -> Iterator[slice]:
    """A pack's trials in chunks whose hidden activations (`examples` rows of `width` units per
    trial) stay within VALID_CHUNK floats: how a pack scores its trials on validation data."""
    chunk = max(1, VALID_CHUNK // (examples * width))
    for start in range(0, trials, chunk):
        yield slice(start, min(start + chunk, trials))


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
        self.factor = lr_factor(params, updates_per_epoch)
        self.history, self.stopping, self.stopped = {"train_loss": []}, EarlyStopping(patience, stop_on), False

    def learning_rates(self, updates_done: int, layer: int) -> tuple[float, float]:
        """(weights, biases) of `layer`: what the trial's optimizer and schedule use alone, computed in
        the same order (optim.make_optimizer, then the schedule's factor), so rounded alike."""
        rate = self.params["learning_rate"] * self.scales[layer]
        bias_rate = rate * self.params["bias_lr_scale"]
        if self.factor is None:
            return rate, bias_rate
        factor = self.factor(updates_done)
        return rate * factor, bias_rate * factor

    def l1_in_gradient(self, layer: int) -> float:
        return 0.0 if self.params["proximal_l1"] else self.penalties[layer][0]

    def end_of_epoch(self, epoch: int, train_loss: float, scores: dict, snapshot) -> bool:
        """Records the epoch as `training.fit` does (`snapshot()`: the trial's weights now); True: done."""
        record_epoch(self.history, epoch, train_loss, scores, self.listener)
        self.stopped = self.stopping.update(epoch, scores, snapshot)
        return self.stopped or epoch >= self.epochs

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
        if not any(member.params["proximal_l1"] and member.penalties[layer][0] > 0 for member in self.members):
            return
        thresholds = []
        for member in self.members:
            rate, l1 = member.learning_rates(self.updates_done, layer)[0], member.penalties[layer][0]
            proximal = member.params["proximal_l1"]  # as alone, in this order, so rounded alike
            thresholds.append(rate * l1 * self.rows / (self.n_train * self.batch_size) if proximal else 0.0)
        threshold = column(thresholds, self.device)
        weight.copy_(weight.sign() * (weight.abs() - threshold).clamp(min=0))


def nesterov_rows(nesterov: torch.Tensor) -> str:
    return "all" if nesterov.all() else "some" if nesterov.any() else "none"


class Batched:
    """The tensors of a batched model by name, one row per trial still training. `layers` names, per
    layer bottom to top, the weight and the biases SGD updates (each gets a `<name>_velocity`), the
    weight at the layer's rates and under its penalties, the biases at its bias rate. Subclasses add
    what their trials need."""

    def __init__(self, tensors: dict, layers: list[tuple[str, list[str]]]):
        self.tensors, self.layers_by_name = tensors, layers
        self.parameters = [name for weight, biases in layers for name in (weight, *biases)]
        for name in self.parameters:
            self.tensors[f"{name}_velocity"] = torch.zeros_like(self.tensors[name])
        self.settle()

    def settle(self) -> None:
        """Which terms of the update some trial still needs (after `keep`): the others are skipped for all."""
        self.nesterov_rows = nesterov_rows(self["nesterov"])

    def __getitem__(self, name: str) -> torch.Tensor:
        return self.tensors[name]

    def keep(self, rows: list[int]) -> None:
        index = torch.tensor(rows, device=self["momentum"].device)
        self.tensors = {name: tensor.index_select(0, index) for name, tensor in self.tensors.items()}
        self.settle()

    def row_state(self, row: int) -> dict:
        return {name: self[name][row].clone() for name in self.parameters}

    def model_names(self, model) -> dict[str, str]:
        """Each batched parameter's name in a trial's own `model` (where its saved state names it)."""
        raise NotImplementedError(f"{type(self).__name__} cannot save or load a trial's training state")

    def row_rng(self, row: int):
        """The state of torch's generator that a trial's own draws come from, if the pack keeps one."""
        return None

    def set_row_rng(self, row: int, state) -> None:
        pass

    def saved_row(self, row: int, member: "Member", epoch: int, updates: int) -> dict:
        """A trial's training state, as the trial alone saves it (`training.training_state`)."""
        names, shapes = self.model_names(member.model), {n: t.shape for n, t in member.model.state_dict().items()}

        def as_model(tensors: dict) -> dict:
            return {names[n]: tensor.reshape(shapes[names[n]]) for n, tensor in tensors.items()}

        score, best_epoch, best = member.stopping.best
        return training_state(
            epoch, updates, member.stopped, as_model(self.row_state(row)),
            as_model({name: self[f"{name}_velocity"][row] for name in self.parameters}), member.generator,
            self.row_rng(row), None, member.history, (score, best_epoch, None if best is None else as_model(best)),
        )  # fmt: skip

    def load_row(self, row: int, member: "Member", state: dict) -> None:
        """Puts a trial's saved state (`saved_row`, or its own alone) into its row and its member."""
        names = self.model_names(member.model)

        def as_rows(tensors: dict) -> dict:
            return {n: tensors[names[n]].to(self[n].device).reshape(self[n][row].shape) for n in self.parameters}

        with torch.no_grad():
            for name, tensor in as_rows(state["weights"]).items():
                self[name][row].copy_(tensor)
            for name in self.parameters:
                if names[name] in state["velocities"]:
                    velocity = state["velocities"][names[name]].to(self[name].device)
                    self[f"{name}_velocity"][row].copy_(velocity.reshape(self[name][row].shape))
        self.set_row_rng(row, state["torch_rng"])
        score, best_epoch, best = state["best"]
        member.history, member.stopped = state["history"], state["stopped"]
        best = None if best is None else as_rows(best)
        member.stopping = EarlyStopping(member.patience, member.stop_on, (tuple(score), best_epoch, best))
        member.generator.set_state(state["generator"])

    def descend(self, update: Update, batch_losses) -> torch.Tensor:
        """One SGD update of every trial, as `training.train_epoch` makes it alone: `batch_losses()`
        gives each trial's mean loss on its batch; the last, short batch weighs in proportion to its
        size, the weight penalty is added, autograd gives the gradients, and each layer takes its SGD
        step and proximal L1 step. Returns each trial's loss."""
        for name in self.parameters:
            self[name].requires_grad_()
        losses = batch_losses()
        if update.rows < update.batch_size:
            losses = losses * (update.rows / update.batch_size)
        penalty = update.penalty([self[weight] for weight, _ in self.layers_by_name])
        if penalty is not None:
            losses = losses + penalty
        gradients = torch.autograd.grad(losses.sum(), [self[name] for name in self.parameters])
        gradients = dict(zip(self.parameters, gradients, strict=True))
        for name in self.parameters:
            self[name].requires_grad_(False)
        for layer, (weight, biases) in enumerate(self.layers_by_name):
            weight_rate, bias_rate = update.rates(layer)
            sgd_update(self, weight, gradients[weight], weight_rate)
            for bias in biases:
                sgd_update(self, bias, gradients[bias], bias_rate)
            update.proximal_step(self[weight], layer)
        return losses.detach().double()


def train_members(model, members: list[Member], x_train, y_train, x_valid, y_valid, trained: int = 0) -> list:
    """Trains the pack's trials (`y_train` None: unsupervised), which have trained `trained` epochs
    already (loaded states: `Batched.load_row`); returns per trial what `training.fit` returns, its
    final weights written into its own model, or the Diverged error that ended it."""
    n_train, batch_size = len(x_train), model.batch_size
    updates_per_epoch = -(-n_train // batch_size)
    active, results, updates_done = list(range(len(members))), [None] * len(members), trained * updates_per_epoch
    for epoch in range(trained + 1, max(member.epochs for member in members) + 1):
        training = [members[i] for i in active]
        order = torch.stack([torch.randperm(n_train, generator=m.generator) for m in training]).to(x_train.device)
        totals = torch.zeros(len(training), dtype=torch.float64, device=x_train.device)
        for start in range(0, n_train, batch_size):
            rows = order[:, start : start + batch_size]
            targets = None if y_train is None else y_train[rows]
            totals += model.step(training, x_train[rows], targets, updates_done) * batch_size  # as train_epoch
            updates_done += 1
        scores = model.scores(x_valid, y_valid)
        still = []
        for row, (i, member) in enumerate(zip(active, training, strict=True)):
            try:
                done = member.end_of_epoch(
                    epoch, totals[row].item() / n_train, scores[row], partial(model.row_state, row)
                )
            except Diverged as error:
                results[i] = error
                continue
            if done:
                if member.checkpoint:  # the weights as they are, before the best epoch's come back
                    member.checkpoint.finish(partial(model.saved_row, row, member, epoch, updates_done))
                final, results[i] = member.ended(epoch, model.row_state(row))
                model.write_back(member.model, final)
            else:
                still.append(row)
        if len(still) < len(active):
            active = [active[row] for row in still]
            if not active:
                break
            model.keep(still)
    return results


def outcomes(trials: list, start, train, finish) -> list:
    """Each trial's result, or the error that failed it. `start(position, generator)` sets a trial up as
    alone (after the same seeding as shard.run_one); `train(positions, started, generators)` trains
    the started ones together, returning each one's training result or error; `finish(position,
    started, result)` makes a trial's result of it. An error costs its trial only, or its pack's trials."""
    results, ready = [None] * len(trials), []
    for position, trial in enumerate(trials):
        seed_everything(trial.seed)
        generator = torch.Generator().manual_seed(trial.seed)
        try:
            ready.append((position, start(position, generator), generator))
        except Exception as error:
            results[position] = error
    if not ready:
        return results
    positions, started, generators = zip(*ready, strict=True)
    try:
        trained = train(positions, started, generators)
    except Exception as error:
        trained = [error] * len(positions)
    for position, begun, result in zip(positions, started, trained, strict=True):
        try:
            results[position] = result if isinstance(result, Exception) else finish(position, begun, result)
        except Exception as error:
            results[position] = error
    return results
