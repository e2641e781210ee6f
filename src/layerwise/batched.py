"""A pack of auto-encoder trials trained together as one batched model (batched matmuls).

Each trial keeps what it has alone: its initial weights, learning rate, schedule and bias rate,
momentum (Nesterov or not), L1/L2 weight decay (proximal or not), corruption level and kind, its
batch order and noise (drawn from its own generator, in the same order as alone), its epochs and its
early stopping. The pack shares the input, the batch size, the activation and the reconstruction
criterion (`pack_key`). Narrower hidden layers are padded to the widest with units held at zero, so
a trial computes in a pack what it computes alone, up to float rounding. A trial that is done (its
epochs run, its patience spent, or diverged) leaves the pack, and the others go on without it.
"""

import math
from functools import partial

import torch

from layerwise.criteria import reconstruction_losses
from layerwise.models import ACTIVATIONS, NOISE
from layerwise.optim import lr_factor
from layerwise.training import Diverged, EarlyStopping, record_epoch

ALGORITHMS = ("autoencoder", "denoising_autoencoder")
SHARED = ("batch_size", "activation", "reconstruction")
PARAMETERS = ("weight", "bias", "decoder_bias")
VALID_CHUNK = 2**25  # floats of hidden activations per validation pass, to bound a pack's memory


def pack_key(params: dict, parent_rank: int | None) -> tuple | None:
    """Trials with equal keys can train in one pack; None: the trial trains alone."""
    if params["algorithm"] not in ALGORITHMS:
        return None
    return (parent_rank, *(params[name] for name in SHARED))


def padded(tensor: torch.Tensor, rows: int) -> torch.Tensor:
    return torch.cat([tensor, tensor.new_zeros(rows - len(tensor), *tensor.shape[1:])])


def column(values, device, dtype=torch.float32) -> torch.Tensor:
    """One value per trial, shaped to scale a (trials, rows, columns) tensor."""
    return torch.tensor(values, dtype=dtype, device=device).view(-1, 1, 1)


class Pack:
    """The trials still training: their weights, momentum buffers and hyper-parameters, row by row."""

    def __init__(self, models, params: list[dict], n_train: int, device):
        self.n_train, self.batch_size = n_train, params[0]["batch_size"]  # what the pack shares (SHARED)
        self.activation, self.reconstruction = params[0]["activation"], params[0]["reconstruction"]
        widths = torch.tensor([model.encoder.out_features for model in models], device=device)
        width = int(widths.max())
        self.tensors = {
            "weight": torch.stack([padded(model.encoder.weight.detach(), width) for model in models]),
            "bias": torch.stack([padded(model.encoder.bias.detach(), width) for model in models]).unsqueeze(1),
            "decoder_bias": torch.stack([model.decoder_bias.detach() for model in models]).unsqueeze(1),
            "units": (torch.arange(width, device=device) < widths.unsqueeze(1)).float().unsqueeze(1),
            "momentum": column([p["momentum"] for p in params], device),
            "nesterov": column([p["nesterov"] for p in params], device, torch.bool),
            "l1": column([0.0 if p["proximal_l1"] else p["l1"] for p in params], device),  # in the gradient
            "proximal_l1": column([p["l1"] if p["proximal_l1"] else 0.0 for p in params], device),
            "l2": column([p["l2"] for p in params], device),
            "corruption": column([p.get("corruption", 0.0) for p in params], device),
            "gaussian": column([p.get("corruption_type") == "gaussian" for p in params], device, torch.bool),
        }
        for name in PARAMETERS:
            self.tensors[f"{name}_velocity"] = torch.zeros_like(self.tensors[name])
        self.padded = bool((widths < width).any())
        self.settle()

    def settle(self) -> None:
        """Which terms of the update some trial still needs: the others are skipped for all."""
        self.proximal = bool((self["proximal_l1"] > 0).any())
        self.l1_in_gradient = bool((self["l1"] > 0).any())
        self.penalized = self.l1_in_gradient or bool((self["l2"] > 0).any())
        self.corrupting = bool((self["corruption"] > 0).any())
        nesterov = self["nesterov"]
        self.nesterov = "all" if nesterov.all() else "some" if nesterov.any() else "none"

    def __getitem__(self, name: str) -> torch.Tensor:
        return self.tensors[name]

    def keep(self, rows: list[int]) -> None:
        index = torch.tensor(rows, device=self["weight"].device)
        self.tensors = {name: tensor.index_select(0, index) for name, tensor in self.tensors.items()}
        self.settle()

    def losses(self, x, target, rows: slice = slice(None)) -> torch.Tensor:
        """The reconstruction loss of `target` from `x` of every trial (of `rows`): (trials, examples, inputs)."""
        weight, bias = self["weight"][rows], self["bias"][rows]
        hidden = ACTIVATIONS[self.activation]()(torch.baddbmm(bias, x, weight.transpose(1, 2)))
        if self.padded:  # padding units give 0 whatever the activation gives at 0
            hidden = hidden * self["units"][rows]
        decoded = torch.baddbmm(self["decoder_bias"][rows], hidden, weight)
        return reconstruction_losses(self.reconstruction, decoded, target)


class Member:
    """A trial in the pack: its own generator, schedule, curves and early stopping."""

    def __init__(self, model, params: dict, generator, listener, updates_per_epoch: int):
        self.model, self.params, self.generator, self.listener = model, params, generator, listener
        self.factor = lr_factor(params, updates_per_epoch)
        self.history, self.stopping = {"train_loss": []}, EarlyStopping(params["patience"])

    def learning_rates(self, updates_done: int) -> tuple[float, float]:
        """(weights, biases): what the optimizer and schedule of the trial alone would use."""
        rate, bias_rate = self.params["learning_rate"], self.params["learning_rate"] * self.params["bias_lr_scale"]
        if self.factor is None:
            return rate, bias_rate
        return rate * self.factor(updates_done), bias_rate * self.factor(updates_done)

    def noise(self, shape) -> torch.Tensor:
        """The noise the trial alone would draw for a batch of this shape (zeros without corruption)."""
        if self.params.get("corruption", 0.0) <= 0:
            return torch.zeros(shape)
        return NOISE[self.params.get("corruption_type", "masking")](shape, generator=self.generator)

    def end_of_epoch(self, epoch: int, train_loss: float, valid_loss: float, snapshot) -> bool:
        """Records the epoch as `training.fit` does (`snapshot()`: the trial's weights now); True: done."""
        record_epoch(self.history, epoch, train_loss, {"valid_loss": valid_loss}, self.listener)
        return self.stopping.update(epoch, valid_loss, snapshot) or epoch >= self.params["epochs"]

    def ended(self, epoch: int, state: dict) -> dict:
        """Writes the trial's final weights (its best epoch's, with patience) into its model."""
        final = self.stopping.state if self.stopping.state is not None else state
        units = self.model.encoder.out_features
        with torch.no_grad():
            self.model.encoder.weight.copy_(final["weight"][:units])
            self.model.encoder.bias.copy_(final["bias"][0, :units])
            self.model.decoder_bias.copy_(final["decoder_bias"][0])
        self.model.eval()
        best = self.stopping.epoch if self.params["patience"] else epoch
        return {"history": self.history, "best_epoch": best, "stopped_epoch": epoch}


def train_pack(models, params: list[dict], generators, listeners, x_train, x_valid) -> list:
    """Trains the auto-encoders `models` (DenoisingAutoencoder, each with its trial's `params`) together;
    returns per trial what `training.train_unsupervised` returns, or the Diverged error that ended it."""
    pack, n_train = Pack(models, params, len(x_train), x_train.device), len(x_train)
    trials = [
        Member(model, p, generator, listener, math.ceil(n_train / pack.batch_size))
        for model, p, generator, listener in zip(models, params, generators, listeners, strict=True)
    ]
    active, results, updates_done = list(range(len(trials))), [None] * len(trials), 0
    for epoch in range(1, max(p["epochs"] for p in params) + 1):
        members = [trials[i] for i in active]
        order = torch.stack([torch.randperm(n_train, generator=t.generator) for t in members]).to(x_train.device)
        totals = torch.zeros(len(members), dtype=torch.float64, device=x_train.device)
        for start in range(0, n_train, pack.batch_size):
            batch = x_train[order[:, start : start + pack.batch_size]]
            totals += train_step(pack, members, batch, updates_done) * pack.batch_size  # as training.train_epoch
            updates_done += 1
        scores = validation_losses(pack, x_valid)
        still = []
        for row, (i, trial) in enumerate(zip(active, members, strict=True)):
            try:
                snapshot = partial(row_state, pack, row)
                done = trial.end_of_epoch(epoch, totals[row].item() / n_train, scores[row], snapshot)
            except Diverged as error:
                results[i] = error
                continue
            if done:
                results[i] = trial.ended(epoch, row_state(pack, row))
            else:
                still.append(row)
        if len(still) < len(active):
            active = [active[row] for row in still]
            if not active:
                break
            pack.keep(still)
    return results


def train_step(pack, members, clean, updates_done: int) -> torch.Tensor:
    """One SGD update of every trial on its own batch (trials, examples, inputs); returns each loss."""
    rows, batch_size = clean.shape[1], pack.batch_size
    parameters = [pack[name].requires_grad_() for name in PARAMETERS]
    losses = pack.losses(corrupted(pack, members, clean), clean)
    if rows < batch_size:  # the last, short batch weighs in proportion to its size
        losses = losses * (rows / batch_size)
    gradients = torch.autograd.grad(losses.sum(), parameters)
    for parameter in parameters:
        parameter.requires_grad_(False)
    losses, weight = losses.detach(), pack["weight"]
    share = rows / (pack.n_train * batch_size)  # of the weight penalty in this update (regularization.py)
    if pack.penalized:  # the penalty's gradient, written out: 2 l2 W + l1 sign(W)
        losses = losses + share * weight_penalty(pack)
        gradients[0].addcmul_(weight, pack["l2"], value=2 * share)
        if pack.l1_in_gradient:
            gradients[0].addcmul_(weight.sign(), pack["l1"], value=share)
    rates = [trial.learning_rates(updates_done) for trial in members]
    weight_rate, bias_rate = column([r[0] for r in rates], clean.device), column([r[1] for r in rates], clean.device)
    for name, gradient, rate in zip(PARAMETERS, gradients, (weight_rate, bias_rate, bias_rate), strict=True):
        sgd_update(pack, name, gradient, rate)
    if pack.proximal:  # as regularization.proximal_l1_step
        threshold = weight_rate * pack["proximal_l1"] * share
        weight.copy_(weight.sign() * (weight.abs() - threshold).clamp(min=0))
    return losses.double()


def weight_penalty(pack) -> torch.Tensor:
    """Each trial's l1 sum|W| (unless proximal) + l2 sum W^2."""
    weight = pack["weight"]
    penalty = pack["l2"].view(-1) * weight.pow(2).sum(dim=(1, 2))
    if pack.l1_in_gradient:
        penalty = penalty + pack["l1"].view(-1) * weight.abs().sum(dim=(1, 2))
    return penalty


def corrupted(pack, members, clean: torch.Tensor) -> torch.Tensor:
    if not pack.corrupting:
        return clean
    noise = torch.stack([trial.noise(clean.shape[1:]) for trial in members]).to(clean.device)
    level, gaussian = pack["corruption"], pack["gaussian"]
    if not gaussian.any():
        return clean * (noise >= level)
    if gaussian.all():
        return clean + level * noise
    return torch.where(gaussian, clean + level * noise, clean * (noise >= level))


def sgd_update(pack, name: str, gradient, rate) -> None:
    """torch.optim.SGD's step (momentum, optionally Nesterov) with one rate and momentum per trial."""
    velocity, momentum = pack[f"{name}_velocity"], pack["momentum"]
    velocity.mul_(momentum).add_(gradient)
    step = velocity
    if pack.nesterov == "all":
        step = gradient.addcmul_(momentum, velocity)
    elif pack.nesterov == "some":
        step = torch.where(pack["nesterov"], gradient.addcmul_(momentum, velocity), velocity)
    pack[name].addcmul_(rate, step, value=-1)


def validation_losses(pack, x_valid) -> list[float]:
    """Each trial's reconstruction error on the clean validation set, in chunks of trials."""
    trials, width = pack["weight"].shape[:2]
    chunk = max(1, VALID_CHUNK // (len(x_valid) * width))
    losses = []
    with torch.no_grad():
        for start in range(0, trials, chunk):
            x = x_valid.expand(min(chunk, trials - start), *x_valid.shape)
            losses += pack.losses(x, x, slice(start, start + chunk)).tolist()
    return losses


def row_state(pack, row: int) -> dict:
    return {name: pack[name][row].clone() for name in PARAMETERS}
