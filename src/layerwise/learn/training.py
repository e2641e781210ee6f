"""A trial alone: its own network, torch's SGD with momentum and its learning-rate schedule, trained
by the one epoch loop (epochs.run_epochs) as the engine of one trial; the unsupervised criterion of
a layer and the supervised one of fine-tuning."""

import copy
import math

import torch
from torch import nn

from layerwise.learn.checkpoint import training_state
from layerwise.learn.epochs import CLASSIFIER_STOP_ON, UNWATCHED, Trainee, Watch, run_epochs
from layerwise.learn.optim import make_optimizer, make_schedule
from layerwise.learn.regularization import classifier_coefficients, penalized_groups, proximal_l1_step, weight_penalty


def on_cuda(model) -> bool:
    return next(model.parameters()).is_cuda


class Alone:
    """The engine of one trial (epochs.run_epochs): `batch_loss(model, x, y)` its criterion on a batch,
    `evaluate(model)` its validation scores. Each update minimises (1/B) * (sum of the batch's losses +
    (B'/T) * weight penalty), B the batch size, B' this batch's size and T the training-set size
    (regularization.py); the learning-rate schedule, if any, steps once per update."""

    def __init__(self, trainee: Trainee, batch_loss, evaluate, n_train: int, updates_per_epoch: int):
        self.model, self.batch_loss, self.evaluate, self.n_train = trainee.model, batch_loss, evaluate, n_train
        self.batch_size, self.proximal = trainee.sgd.batch_size, trainee.sgd.proximal_l1
        self.optimizer = make_optimizer(self.model, trainee.sgd, trainee.penalties, trainee.scales)
        self.schedule = make_schedule(self.optimizer, trainee.sgd, updates_per_epoch)
        self.penalized = bool(penalized_groups(self.optimizer))

    def step(self, trainees, x, y, updates_done: int) -> torch.Tensor:
        model, optimizer, rows = self.model, self.optimizer, x.shape[1]
        if not model.training:
            model.train()
        optimizer.zero_grad(set_to_none=True)
        loss = self.batch_loss(model, x[0], None if y is None else y[0])
        if rows < self.batch_size:  # the last, short batch weighs in proportion to its size
            loss = loss * (rows / self.batch_size)
        if self.penalized:
            loss = loss + weight_penalty(optimizer, rows, self.n_train, self.proximal) / self.batch_size
        loss.backward()
        optimizer.step()
        if self.proximal:
            proximal_l1_step(optimizer, rows, self.n_train, self.batch_size)
        if self.schedule is not None:
            self.schedule.step()
        return loss.detach().double().view(1)

    def scores(self, x_valid, y_valid) -> list[dict]:
        self.model.eval()
        with torch.no_grad():
            return [self.evaluate(self.model)]

    def row_state(self, row: int) -> dict:
        return copy.deepcopy(self.model.state_dict())

    def saved_row(self, row: int, trainee: Trainee, epoch: int, updates: int) -> dict:
        cuda_rng = torch.cuda.get_rng_state() if on_cuda(self.model) else None
        return training_state(
            trainee, epoch, updates, self.model.state_dict(), self.optimizer, self.schedule, torch.get_rng_state(),
            cuda_rng, trainee.stopping.state,
        )  # fmt: skip

    def load(self, row: int, trainee: Trainee, state: dict) -> None:
        self.model.load_state_dict(state["weights"])
        self.optimizer.load_state_dict(state["optimizer"])
        if self.schedule is not None:
            self.schedule.load_state_dict(state["schedule"])
        torch.set_rng_state(state["torch_rng"])
        if state.get("cuda_rng") is not None and on_cuda(self.model):
            torch.cuda.set_rng_state(state["cuda_rng"])
        score, epoch, weights = state["best"]
        trainee.resume(state, (tuple(score), epoch, weights))

    def write_back(self, model, weights: dict) -> None:
        model.load_state_dict(weights)
        model.eval()

    def keep(self, rows: list[int]) -> None:
        pass


def fit(
    model,
    batch_loss,
    inputs,
    targets,
    params: dict,
    evaluate,
    stop_on: tuple[str, ...],
    max_epochs: int,
    patience: int,
    generator,
    penalties: list[tuple[float, float]],
    layer_scales=None,
    watch: Watch = UNWATCHED,
) -> dict:
    """Epochs of SGD; after each, `evaluate(model)` returns validation metrics (lower is better).

    With patience > 0, training stops once `stop_on` has not improved for `patience` epochs and
    the best epoch's weights are restored; with patience 0 it runs all `max_epochs`.
    """
    updates_per_epoch = math.ceil(len(inputs) / params["batch_size"])
    scales = layer_scales or [1.0] * len(penalties)
    trainee = Trainee(model, params, generator, watch, updates_per_epoch, max_epochs, patience, stop_on, penalties,
                      scales)  # fmt: skip
    engine = Alone(trainee, batch_loss, evaluate, len(inputs), updates_per_epoch)
    (result,) = run_epochs(engine, [trainee], inputs, targets, None, None)
    if isinstance(result, Exception):
        raise result
    return result


def train_unsupervised(model, x_train, x_valid, params: dict, generator, watch: Watch = UNWATCHED) -> dict:
    """Fits a layer by its `training_loss` (auto-encoder criterion, or CD-k for an RBM), early-stopped
    on validation `reconstruction_error` if patience > 0."""
    return fit(
        model, lambda m, x, _: m.training_loss(x), x_train, None, params,
        lambda m: {"valid_loss": m.reconstruction_error(x_valid).item()},
        ("valid_loss",), params["epochs"], params["patience"], generator, [(params["l1"], params["l2"])],
        watch=watch,
    )  # fmt: skip


def classification_error(model, x, y) -> tuple[float, float]:
    """(error rate, mean negative log-likelihood) of `model` on (x, y)."""
    model.eval()
    with torch.no_grad():
        logits = model(x)
        return (logits.argmax(1) != y).float().mean().item(), nn.functional.cross_entropy(logits, y).item()


def train_classifier(
    model, train, valid, params: dict, patience: int, generator, layer_scales: list[float], watch: Watch = UNWATCHED
) -> dict:
    """Supervised fine-tuning with early stopping on validation error (ties: loss); the best epoch's weights are kept.

    `layer_scales` holds one learning-rate multiplier per Linear layer, bottom to top.
    """

    def evaluate(network):
        error, loss = classification_error(network, valid.x, valid.y)
        return {"valid_error": error, "valid_loss": loss}

    result = fit(
        model, lambda m, x, y: nn.functional.cross_entropy(m(x), y), train.x, train.y, params, evaluate,
        CLASSIFIER_STOP_ON, params["max_epochs"], patience, generator,
        classifier_coefficients(params, len(layer_scales)), layer_scales, watch,
    )  # fmt: skip
    result["valid_error"] = result["history"]["valid_error"][result["best_epoch"] - 1]
    return result
