"""The one loop that trains by SGD: epochs over a seeded batch order, early stopping, divergence, the
epoch listener and the saved training state, for K trials at once; a trial alone is K = 1.

What differs between a trial alone (training.Alone: its own network, torch's SGD and schedule) and a
pack (packs/: K networks as one batched model) is its engine, which offers `batch_size`,
`step(trainees, x, y, updates_done)` (one update of every trial on its own batch (trials, rows, ...),
returning each one's loss), `scores(x_valid, y_valid)` (each trial's validation scores), `row_state(row)`
(a copy of a trial's weights), `saved_row(row, trainee, epoch, updates)` and `load(row, trainee, state)`
(its training state, checkpoint.training_state), `write_back(model, weights)` (its final weights into
its own model) and `keep(rows)` (the trials still training).
"""

import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

import torch

from layerwise.learn.checkpoint import Checkpoint
from layerwise.learn.optim import SGDSettings, lr_factor


class Diverged(RuntimeError):
    """The training loss became NaN or infinite."""


@dataclass(frozen=True)
class Watch:
    """What a trial's training reports to: `listener(epoch, metrics)` hears of each finished epoch (the
    live curves in MLflow), and `checkpoint` (checkpoint.Checkpoint) holds a long trial's state, from
    which training resumes where it holds one and to which it saves after each epoch once due."""

    listener: Callable[[int, dict], None] | None = None
    checkpoint: Checkpoint | None = None


UNWATCHED = Watch()  # a network trained outside a search's trial: a refit, a benchmark, a test


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


class Trainee:
    """A trial in training: its model, optimizer settings, generator (batch order), curves and early
    stopping (on the validation scores `stop_on`, over at most `epochs` epochs), per layer (bottom to
    top) its (l1, l2) `penalties` and learning-rate `scales` (optim.make_optimizer), and what it reports
    to (`watch`)."""

    def __init__(self, model, params: dict, generator, watch: Watch, updates_per_epoch: int, epochs: int,
                 patience: int, stop_on: tuple[str, ...], penalties, scales):  # fmt: skip
        self.model, self.params, self.generator, self.watch = model, params, generator, watch
        self.epochs, self.patience, self.stop_on = epochs, patience, stop_on
        self.penalties, self.scales, self.checkpoint = penalties, scales, watch.checkpoint
        self.sgd, self.updates_per_epoch = SGDSettings.of(params), updates_per_epoch
        self.factor = lr_factor(self.sgd, updates_per_epoch)
        self.history, self.stopping, self.stopped = {"train_loss": []}, EarlyStopping(patience, stop_on), False

    def learning_rates(self, updates_done: int, layer: int) -> tuple[float, float]:
        """(weights, biases) of `layer` after `updates_done` updates: what its optimizer and schedule use
        alone, computed in the same order (optim.make_optimizer, then the schedule's factor), so rounded alike."""
        rate = self.sgd.learning_rate * self.scales[layer]
        bias_rate = rate * self.sgd.bias_lr_scale
        if self.factor is None:
            return rate, bias_rate
        factor = self.factor(updates_done)
        return rate * factor, bias_rate * factor

    def end_of_epoch(self, epoch: int, train_loss: float, scores: dict, snapshot) -> bool:
        """Records the epoch and tells the listener (`snapshot()`: the trial's weights now; the training
        loss is finite, run_epochs checked it); a validation score that is not finite is divergence.
        True: its training is done."""
        for name, value in scores.items():
            if not math.isfinite(value):
                raise Diverged(f"validation {name} became {value}")
        self.history["train_loss"].append(train_loss)
        for name, value in scores.items():
            self.history.setdefault(name, []).append(value)
        if self.watch.listener is not None:
            self.watch.listener(epoch, {"train_loss": train_loss, **scores})
        self.stopped = self.stopping.update(epoch, scores, snapshot)
        return self.stopped or epoch >= self.epochs

    def resume(self, state: dict, best: tuple) -> None:
        """Takes up a saved training state, its best epoch's (score, epoch, weights) as its engine holds
        them, and tells the listener the epochs its run does not show yet (those after `logged`)."""
        self.history, self.stopped = state["history"], state["stopped"]
        self.stopping = EarlyStopping(self.patience, self.stop_on, best)
        self.generator.set_state(state["generator"])
        if self.watch.listener is not None:
            for epoch in range(self.checkpoint.logged + 1, state["epoch"] + 1):
                self.watch.listener(epoch, {name: values[epoch - 1] for name, values in self.history.items()})
        print(f"resumed from the saved state after epoch {state['epoch']}", flush=True)

    def ended(self, epoch: int, weights: dict) -> tuple[dict, dict]:
        """(the weights the trial ends with: its best epoch's, with patience; its training result)."""
        final = self.stopping.state if self.stopping.state is not None else weights
        best = self.stopping.epoch if self.patience else epoch
        ended = {"history": self.history, "best_epoch": best, "stopped_epoch": epoch, "early_stopped": self.stopped}
        return final, ended


def run_epochs(engine, trainees: list[Trainee], x_train, y_train, x_valid, y_valid) -> list:
    """Trains the trainees (`y_train` None: unsupervised), each from its saved state where its
    checkpoint holds one (all of an engine's have trained the same epochs), until each is done: its
    epochs run, its patience spent, or diverged. Returns per trial its training result (its final
    weights written into its own model), or the Diverged error that ended it."""
    trained = 0
    for row, trainee in enumerate(trainees):
        saved = trainee.checkpoint.load() if trainee.checkpoint else None
        if saved:
            engine.load(row, trainee, saved)
            trained = saved["epoch"]
    n_train, batch_size = len(x_train), engine.batch_size
    updates_done = trained * -(-n_train // batch_size)
    results, active = [None] * len(trainees), list(range(len(trainees)))

    def end(row: int, epoch: int) -> None:
        trainee = trainees[active[row]]
        if trainee.checkpoint:  # the weights as they are, before the best epoch's come back
            trainee.checkpoint.finish(partial(engine.saved_row, row, trainee, epoch, updates_done))
        final, results[active[row]] = trainee.ended(epoch, engine.row_state(row))
        engine.write_back(trainee.model, final)

    def keep(rows: list[int]) -> None:
        nonlocal active
        if len(rows) < len(active):
            active = [active[row] for row in rows]
            if active:
                engine.keep(rows)

    for row, i in enumerate(active):  # a state saved as training ended: nothing is left to train
        if trainees[i].stopped or trained >= trainees[i].epochs:
            end(row, trained)
    keep([row for row, i in enumerate(active) if results[i] is None])
    epoch = trained
    while active:
        epoch += 1
        training = [trainees[i] for i in active]
        order = torch.stack([torch.randperm(n_train, generator=t.generator) for t in training]).to(x_train.device)
        totals = torch.zeros(len(training), dtype=torch.float64, device=x_train.device)
        for start in range(0, n_train, batch_size):
            rows = order[:, start : start + batch_size]
            targets = None if y_train is None else y_train[rows]
            totals += engine.step(training, x_train[rows], targets, updates_done) * batch_size
            updates_done += 1
        losses = [total / n_train for total in totals.tolist()]
        for i, loss in zip(active, losses, strict=True):
            if not math.isfinite(loss):  # before scoring: a diverged network is not evaluated
                results[i] = Diverged(f"training loss became {loss}")
        finite = [row for row, i in enumerate(active) if results[i] is None]
        losses = [losses[row] for row in finite]
        keep(finite)
        if not active:
            break
        scores = engine.scores(x_valid, y_valid)
        still = []
        for row, (i, loss) in enumerate(zip(active, losses, strict=True)):
            trainee = trainees[i]
            try:
                done = trainee.end_of_epoch(epoch, loss, scores[row], partial(engine.row_state, row))
            except Diverged as error:
                results[i] = error
                continue
            if done:
                end(row, epoch)
                continue
            if trainee.checkpoint and trainee.checkpoint.due():
                trainee.checkpoint.save(engine.saved_row(row, trainee, epoch, updates_done))
            still.append(row)
        keep(still)
    return results
