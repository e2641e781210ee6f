"""Trials trained together as one batched model (a pack): the engine of the one epoch loop
(learn/epochs.py) for K trials at once.

`Batched.descend` makes one update of all the trials of a batched model from their batch losses (the
per-trial arithmetic of an update in members.py); a trial that is done (its epochs run, its patience
spent, or diverged) leaves the pack while the others go on (`keep`). A trial's training state is the
one it saves alone (`saved_row`, `load`). `outcomes` starts, trains and finishes a pack's trials. The
batched models themselves are in autoencoders.py (auto-encoder layers) and classifiers.py (fine-tuning):
each a `Batched` (its tensors by name, one row per trial) that offers `batch_size`, `step` and `scores`
(epochs.py) and `write_back` (a trial's final weights into its own model)"""

from collections.abc import Iterator

import torch

from layerwise.learn.checkpoint import training_state
from layerwise.learn.epochs import Trainee
from layerwise.learn.optim import make_optimizer, make_schedule
from layerwise.packs.members import Update, nesterov_rows, sgd_update
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

    def trial_optimizer(self, trainee: Trainee, updates: int):
        """The optimizer a trial has alone (its state_dict is how a training state holds the momentum
        buffers and learning rates), and its schedule `updates` updates along."""
        optimizer = make_optimizer(trainee.model, trainee.sgd, trainee.penalties, trainee.scales)
        return optimizer, make_schedule(optimizer, trainee.sgd, trainee.updates_per_epoch, updates)

    def saved_row(self, row: int, trainee: Trainee, epoch: int, updates: int) -> dict:
        """A trial's training state, as the trial alone saves it (`checkpoint.training_state`)."""
        names, parameters = self.model_names(trainee.model), dict(trainee.model.named_parameters())

        def as_model(tensors: dict) -> dict:
            return {names[n]: tensor.reshape(parameters[names[n]].shape) for n, tensor in tensors.items()}

        optimizer, schedule = self.trial_optimizer(trainee, updates)
        for name, velocity in as_model({n: self[f"{n}_velocity"][row] for n in self.parameters}).items():
            optimizer.state[parameters[name]]["momentum_buffer"] = velocity
        best = trainee.stopping.state
        return training_state(
            trainee, epoch, updates, as_model(self.row_state(row)), optimizer, schedule, self.row_rng(row), None,
            None if best is None else as_model(best),
        )  # fmt: skip

    def load(self, row: int, trainee: Trainee, state: dict) -> None:
        """Puts a trial's saved state (`saved_row`, or its own alone) into its row and its trainee."""
        names, parameters = self.model_names(trainee.model), dict(trainee.model.named_parameters())

        def as_rows(tensors: dict) -> dict:
            return {n: tensors[names[n]].to(self[n].device).reshape(self[n][row].shape) for n in self.parameters}

        optimizer, _ = self.trial_optimizer(trainee, state["updates"])
        optimizer.load_state_dict(state["optimizer"])
        velocities = {names[n]: optimizer.state[parameters[names[n]]].get("momentum_buffer") for n in self.parameters}
        with torch.no_grad():
            for name, tensor in as_rows(state["weights"]).items():
                self[name][row].copy_(tensor)
            for name, velocity in as_rows({n: v for n, v in velocities.items() if v is not None}).items():
                self[f"{name}_velocity"][row].copy_(velocity)
        self.set_row_rng(row, state["torch_rng"])
        score, best_epoch, best = state["best"]
        trainee.resume(state, (tuple(score), best_epoch, None if best is None else as_rows(best)))

    def descend(self, update: Update, batch_losses) -> torch.Tensor:
        """One SGD update of every trial, as `training.Alone.step` makes it alone: `batch_losses()`
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
