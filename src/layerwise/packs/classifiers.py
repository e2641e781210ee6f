"""A pack of fine-tuning trials trained together as one batched network (batched matmuls; engine.py).

Each trial keeps what it has alone: its initial (pretrained) weights, learning rate and schedule,
layer-wise and bias rates, momentum (Nesterov or not), L1/L2 per layer group (proximal or not), its
batch order, its dropout masks (drawn as its Dropout modules draw them alone, from the trial's own
state of torch's generator), its epochs and its early stopping on validation error. The pack shares the
network's shape (the parent stack) and the batch size (`pack_key`).

Batched matmuls round some products differently from the single ones of a trial alone (in the last
bit), and a fine-tuning trial's validation error counts examples: over many epochs such a difference
can move an example across the decision boundary, and so the best epoch. A packed trial's numbers
are therefore its own, reproducible for the same pack size and any shard count, and close to but
not always equal to those it gets alone.
"""

import math

import torch
from torch import nn

from layerwise.learn.epochs import CLASSIFIER_STOP_ON, Trainee, Watch, run_epochs
from layerwise.learn.models import Dropout
from layerwise.packs.engine import Batched, trial_chunks
from layerwise.packs.members import Update, column


def pack_key(params: dict, parent_rank: int | None, shape: tuple) -> tuple:
    """The parent stack, or the no-pretraining arm's `shape`, and the batch size."""
    return (parent_rank, shape, params["batch_size"])


class ClassifierPack(Batched):
    """The trials still training: per layer l their stacked `weight<l>` and `bias<l>` and momentum
    buffers; the momentum, Nesterov and dropout columns; each trial's generator state for its dropout."""

    def __init__(self, models, params: list[dict], rng_states, n_train: int, device):
        self.n_train, self.batch_size = n_train, params[0]["batch_size"]
        linears = [[module for module in model if isinstance(module, nn.Linear)] for model in models]
        self.activations = [m for m in models[0] if not isinstance(m, (nn.Linear, Dropout))]
        self.widths = [layer.out_features for layer in linears[0][:-1]]
        self.layers = len(linears[0])
        self.rng_states = list(rng_states)
        tensors = {
            "momentum": column([p["momentum"] for p in params], device),
            "nesterov": column([p["nesterov"] for p in params], device, torch.bool),
            "dropout": column([p["dropout"] for p in params], device),
            "retained": column([1 - p["dropout"] for p in params], device),  # rounded once, as in dropout_mask
        }
        for layer in range(self.layers):
            tensors[f"weight{layer}"] = torch.stack([linear[layer].weight.detach() for linear in linears])
            tensors[f"bias{layer}"] = torch.stack([linear[layer].bias.detach() for linear in linears]).unsqueeze(1)
        super().__init__(tensors, [(f"weight{layer}", [f"bias{layer}"]) for layer in range(self.layers)])

    def settle(self) -> None:
        super().settle()
        self.dropping = bool((self["dropout"] > 0).any())

    def keep(self, rows: list[int]) -> None:
        self.rng_states = [self.rng_states[row] for row in rows]
        super().keep(rows)

    def model_names(self, model) -> dict[str, str]:
        linears = [name for name, module in model.named_modules() if isinstance(module, nn.Linear)]
        return {f"{kind}{layer}": f"{name}.{kind}" for layer, name in enumerate(linears) for kind in ("weight", "bias")}

    def row_rng(self, row: int):
        return self.rng_states[row]

    def set_row_rng(self, row: int, state) -> None:
        self.rng_states[row] = state

    def masks(self, rows: int, device) -> list[torch.Tensor]:
        """Each trial's dropout masks for a batch of `rows`, hidden layer by hidden layer: those its
        Dropout modules draw alone (models.dropout_mask, from the trial's state of torch's generator),
        the noise drawn trial by trial, the masks made of it for all at once."""
        per_layer = [[] for _ in self.widths]
        outer = torch.get_rng_state()
        for row, p in enumerate(self["dropout"].view(-1).tolist()):
            torch.set_rng_state(self.rng_states[row])
            for layer, width in enumerate(self.widths):  # without dropout: noise 0 keeps every unit
                per_layer[layer].append(torch.rand(rows, width) if p > 0 else torch.zeros(rows, width))
            self.rng_states[row] = torch.get_rng_state()
        torch.set_rng_state(outer)
        return [(torch.stack(noise).to(device) >= self["dropout"]) / self["retained"] for noise in per_layer]

    def logits(self, x, rows: slice = slice(None), masks=None) -> torch.Tensor:
        """(trials, examples, classes) of the trials of `rows` on their inputs `x`."""
        hidden = x
        for layer, activation in enumerate(self.activations):
            hidden = activation(torch.baddbmm(self[f"bias{layer}"][rows], hidden, self[f"weight{layer}"][rows].mT))
            if masks is not None:
                hidden = hidden * masks[layer]
        last = self.layers - 1
        return torch.baddbmm(self[f"bias{last}"][rows], hidden, self[f"weight{last}"][rows].mT)

    def step(self, members: list[Trainee], x, y, updates_done: int) -> torch.Tensor:
        """One SGD update of every trial on its own batch (trials, examples, inputs); returns each loss."""
        trials, rows = x.shape[:2]

        def batch_losses():
            logits = self.logits(x, masks=self.masks(rows, x.device) if self.dropping else None)
            losses = nn.functional.cross_entropy(logits.flatten(0, 1), y.flatten(), reduction="none")
            return losses.view(trials, rows).mean(1)

        return self.descend(Update(members, updates_done, rows, self.n_train, self.batch_size, x.device), batch_losses)

    def scores(self, x_valid, y_valid) -> list[dict]:
        """Each trial's validation error and loss (as training.classification_error), in chunks of trials."""
        trials, width = len(self["momentum"]), max(self.widths, default=1)
        scores = []
        with torch.no_grad():
            for rows in trial_chunks(trials, len(x_valid), width):
                count = rows.stop - rows.start
                logits = self.logits(x_valid.expand(count, *x_valid.shape), rows)
                errors = (logits.argmax(-1) != y_valid).float().mean(1)
                targets = y_valid.expand(count, -1).flatten()
                losses = nn.functional.cross_entropy(logits.flatten(0, 1), targets, reduction="none").view(count, -1)
                for error, loss in zip(errors.tolist(), losses.mean(1).tolist(), strict=True):
                    scores.append({"valid_error": error, "valid_loss": loss})
        return scores

    def write_back(self, model, state: dict) -> None:
        with torch.no_grad():
            for layer, linear in enumerate(module for module in model if isinstance(module, nn.Linear)):
                linear.weight.copy_(state[f"weight{layer}"])
                linear.bias.copy_(state[f"bias{layer}"][0])
        model.eval()


def train_pack(
    models, params, penalties, scales, rng_states, generators, listeners, patience, train, valid, checkpoints
) -> list:
    """Trains the classifiers `models` together, each with its trial's `params`, per-layer (l1, l2)
    `penalties` and learning-rate `scales`, and the state torch's generator had when it was built
    (`rng_states`: alone, its dropout draws from there); a trial's `checkpoints` entry (or None) holds
    the state it goes on from, if any (all of a pack's trained the same epochs), and where it saves its
    own when it ends. Returns per trial what `training.train_classifier` returns, or the Diverged error
    that ended it."""
    pack = ClassifierPack(models, params, rng_states, len(train.x), train.x.device)
    updates = math.ceil(len(train.x) / pack.batch_size)
    trainees = [
        Trainee(model, p, generator, Watch(listener, checkpoint), updates, p["max_epochs"], patience,
                CLASSIFIER_STOP_ON, penalty, scale)
        for model, p, generator, listener, penalty, scale, checkpoint in zip(
            models, params, generators, listeners, penalties, scales, checkpoints, strict=True
        )
    ]  # fmt: skip
    results = run_epochs(pack, trainees, train.x, train.y, valid.x, valid.y)
    for result in results:
        if not isinstance(result, Exception):
            result["valid_error"] = result["history"]["valid_error"][result["best_epoch"] - 1]
    return results
