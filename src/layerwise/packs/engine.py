"""Trials trained together as one batched model (a pack): what every kind of pack shares.

Each trial of a pack is a `Member` (members.py, with the per-trial arithmetic of an update);
`Batched.descend` makes one update of all the trials of a batched model from their batch losses;
`train_members` runs the epochs, and a trial that is done (its epochs run, its patience spent, or
diverged) leaves the pack while the others go on. `outcomes` starts, trains and
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

from layerwise.learn.training import Diverged, training_state
from layerwise.packs.members import Member, Update, nesterov_rows, sgd_update
from layerwise.seeding import seed_everything

VALID_CHUNK = 2**25  # floats of hidden activations per validation pass, to bound a pack's memory


def trial_chunks(trials: int, examples: int, width: int) -> Iterator[slice]:
    """A pack's trials in chunks whose hidden activations (`examples` rows of `width` units per
    trial) stay within VALID_CHUNK floats: how a pack scores its trials on validation data."""
    chunk = max(1, VALID_CHUNK // (examples * width))
    for start in range(0, trials, chunk):
        yield slice(start, min(start + chunk, trials))


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
        member.resume(state, (tuple(score), best_epoch, None if best is None else as_rows(best)))

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
