"""Training loops: SGD with momentum on in-memory tensors, early stopping, divergence detection."""

import copy
import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

from layerwise.learn.checkpoint import Checkpoint
from layerwise.learn.optim import SGDSettings, make_optimizer, make_schedule
from layerwise.learn.regularization import classifier_coefficients, penalized_groups, proximal_l1_step, weight_penalty


class Diverged(RuntimeError):
    """The training loss became NaN or infinite."""


@dataclass(frozen=True)
class Watch:
    """What a trial's training reports to: `listener(epoch, metrics)` hears of each finished epoch (the
    live curves in MLflow), and `checkpoint` (checkpoint.Checkpoint) holds a long trial's state, from
    which `fit` resumes where it holds one and to which it saves after each epoch once due."""

    listener: Callable[[int, dict], None] | None = None
    checkpoint: Checkpoint | None = None


UNWATCHED = Watch()  # a network trained outside a search's trial: a refit, a benchmark, a test


def on_cuda(model) -> bool:
    return next(model.parameters()).is_cuda


def momentum_buffers(model, optimizer) -> dict:
    """Each parameter's momentum buffer (none before the first update, or without momentum), by name."""
    buffers = {
        name: optimizer.state.get(parameter, {}).get("momentum_buffer") for name, parameter in model.named_parameters()
    }
    return {name: buffer for name, buffer in buffers.items() if buffer is not None}


def cpu_copy(tensors: dict | None) -> dict | None:
    return None if tensors is None else {name: tensor.detach().cpu().clone() for name, tensor in tensors.items()}


def training_state(epoch, updates, stopped, weights, velocities, generator, torch_rng, cuda_rng, history, best) -> dict:
    """What training needs to go on as if it had not paused (checkpoint.py), in the one form a trial
    alone (`fit`) and a pack of trials (packs/engine.py) both write and read: weights and momentum
    buffers by the name the parameter has in the trial's own model, on the CPU."""
    score, best_epoch, best_weights = best
    return {
        "epoch": epoch,
        "updates": updates,  # where the learning-rate schedule stands
        "stopped": stopped,  # early stopping ended the training: nothing is left to train
        "weights": cpu_copy(weights),
        "velocities": cpu_copy(velocities),
        "generator": generator.get_state(),
        "torch_rng": torch_rng,  # dropout draws from it on the CPU,
        "cuda_rng": cuda_rng,  # and from this on a GPU
        "history": history,
        "best": (tuple(score), best_epoch, cpu_copy(best_weights)),
    }


def resume(state: dict, model, optimizer, schedule, generator, listener, logged: int) -> tuple[int, dict, tuple]:
    """Restores a saved training state and tells the listener the epochs after `logged` (the run of a
    new attempt shows the whole curve, a continued run the epochs it lacks); returns (next epoch,
    history, (best score, best epoch, best weights))."""
    model.load_state_dict(state["weights"])
    for name, parameter in model.named_parameters():
        if name in state["velocities"]:
            optimizer.state[parameter]["momentum_buffer"] = state["velocities"][name].to(parameter.device).clone()
    if schedule is not None:  # its rate after `updates` updates, as LambdaLR computes it
        schedule.last_epoch = state["updates"]
        for group, base, factor in zip(optimizer.param_groups, schedule.base_lrs, schedule.lr_lambdas, strict=True):
            group["lr"] = base * factor(state["updates"])
    generator.set_state(state["generator"])
    torch.set_rng_state(state["torch_rng"])
    if state.get("cuda_rng") is not None and on_cuda(model):
        torch.cuda.set_rng_state(state["cuda_rng"])
    history = state["history"]
    if listener is not None:
        for epoch in range(logged + 1, state["epoch"] + 1):
            listener(epoch, {name: values[epoch - 1] for name, values in history.items()})
    print(f"resumed from the saved state after epoch {state['epoch']}", flush=True)
    score, epoch, weights = state["best"]
    return state["epoch"] + 1, history, (tuple(score), epoch, weights)


def train_epoch(model, batch_loss, inputs, targets, sgd: SGDSettings, optimizer, schedule, generator) -> float:
    """One pass in a seeded random order; returns the mean training criterion per example.

    Each update minimises (1/B) * (sum of the batch's losses + (B'/T) * weight penalty), B the batch
    size, B' this batch's size and T the training-set size (see regularization.py); the learning-rate
    schedule, if any, steps once per update.
    """
    model.train()
    batch_size, n_train, proximal = sgd.batch_size, len(inputs), sgd.proximal_l1
    penalized = bool(penalized_groups(optimizer))
    order = torch.randperm(n_train, generator=generator).to(inputs.device)  # the same order on any device
    total = 0.0
    for start in range(0, n_train, batch_size):
        batch = order[start : start + batch_size]
        optimizer.zero_grad(set_to_none=True)
        loss = batch_loss(model, inputs[batch], targets[batch])
        if len(batch) < batch_size:  # the last, short batch weighs in proportion to its size
            loss = loss * (len(batch) / batch_size)
        if penalized:
            loss = loss + weight_penalty(optimizer, len(batch), n_train, proximal) / batch_size
        loss.backward()
        optimizer.step()
        if proximal:
            proximal_l1_step(optimizer, len(batch), n_train, batch_size)
        if schedule is not None:
            schedule.step()
        total += loss.item() * batch_size
    mean = total / n_train
    if not math.isfinite(mean):
        raise Diverged(f"training loss became {mean}")
    return mean


def record_epoch(history: dict, epoch: int, train_loss: float, scores: dict, listener) -> None:
    """Appends an epoch's training loss and validation scores to `history` and tells the listener;
    a score that is not finite is divergence."""
    if not math.isfinite(train_loss):
        raise Diverged(f"training loss became {train_loss}")
    for name, value in scores.items():
        if not math.isfinite(value):
            raise Diverged(f"validation {name} became {value}")
    history["train_loss"].append(train_loss)
    for name, value in scores.items():
        history.setdefault(name, []).append(value)
    if listener is not None:
        listener(epoch, {"train_loss": train_loss, **scores})


# Fine-tuning keeps the epoch of lowest validation error, and of those the one of lowest loss: on a
# small validation set the error is coarse (one example is 1/n) and many epochs tie.
CLASSIFIER_STOP_ON = ("valid_error", "valid_loss")


class EarlyStopping:
    """The best epoch so far by the validation scores `stop_on` (compared in order, lower is better),
    its weights when patience > 0, and whether `patience` epochs have passed without a better one
    (never, with patience 0)."""

    def __init__(self, patience: int, stop_on: tuple[str, ...], best: tuple = ((math.inf,), 0, None)):
        self.patience, self.stop_on = patience, stop_on
        self.score, self.epoch, self.state = best

    def update(self, epoch: int, scores: dict, snapshot) -> bool:
        """Records an epoch's scores (`snapshot()` gives the weights to keep if it is the best); True: stop."""
        score = tuple(scores[name] for name in self.stop_on)
        if score < tuple(self.score):
            self.score, self.epoch = score, epoch
            self.state = snapshot() if self.patience else None
            return False
        return bool(self.patience) and epoch - self.epoch >= self.patience

    @property
    def best(self) -> tuple:
        return self.score, self.epoch, self.state


def fit(
    model,
    batch_loss,
    inputs,
    targets,
    sgd: SGDSettings,
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
    optimizer = make_optimizer(model, sgd, penalties, layer_scales)
    updates_per_epoch = math.ceil(len(inputs) / sgd.batch_size)
    schedule = make_schedule(optimizer, sgd, updates_per_epoch)
    history, stopping = {"train_loss": []}, EarlyStopping(patience, stop_on)
    listener, checkpoint = watch.listener, watch.checkpoint
    first_epoch, saved = 1, checkpoint.load() if checkpoint else None
    if saved:
        first_epoch, history, best = resume(saved, model, optimizer, schedule, generator, listener, checkpoint.logged)
        stopping = EarlyStopping(patience, stop_on, best)
    epoch, stopped = first_epoch - 1, bool(saved and saved["stopped"])

    def state():
        return training_state(
            epoch, epoch * updates_per_epoch, stopped, model.state_dict(), momentum_buffers(model, optimizer),
            generator, torch.get_rng_state(), torch.cuda.get_rng_state() if on_cuda(model) else None, history,
            stopping.best,
        )  # fmt: skip

    while not stopped and epoch < max_epochs:
        epoch += 1
        train_loss = train_epoch(model, batch_loss, inputs, targets, sgd, optimizer, schedule, generator)
        model.eval()
        with torch.no_grad():
            scores = evaluate(model)
        record_epoch(history, epoch, train_loss, scores, listener)
        stopped = stopping.update(epoch, scores, lambda: copy.deepcopy(model.state_dict()))
        if not stopped and checkpoint and checkpoint.due():
            checkpoint.save(state())
    if checkpoint:
        checkpoint.finish(state)  # the weights as they are, before the best epoch's come back
    if stopping.state is not None:
        model.load_state_dict(stopping.state)
    model.eval()
    return {
        "history": history,
        "best_epoch": stopping.epoch if patience else epoch,
        "stopped_epoch": epoch,
        "early_stopped": stopped,
    }


def train_unsupervised(model, x_train, x_valid, params: dict, generator, watch: Watch = UNWATCHED) -> dict:
    """Fits a layer by its `training_loss` (auto-encoder criterion, or CD-k for an RBM), early-stopped
    on validation `reconstruction_error` if patience > 0."""
    return fit(
        model, lambda m, x, _: m.training_loss(x), x_train, x_train, SGDSettings.of(params),
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
        model, lambda m, x, y: nn.functional.cross_entropy(m(x), y), train.x, train.y, SGDSettings.of(params), evaluate,
        CLASSIFIER_STOP_ON, params["max_epochs"], patience, generator,
        classifier_coefficients(params, len(layer_scales)), layer_scales, watch,
    )  # fmt: skip
    result["valid_error"] = result["history"]["valid_error"][result["best_epoch"] - 1]
    return result
