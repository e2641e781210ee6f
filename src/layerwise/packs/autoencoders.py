"""A pack of auto-encoder trials trained together as one batched model (batched matmuls; engine.py).

Each trial keeps what it has alone: its initial weights, learning rate, schedule and bias rate,
momentum (Nesterov or not), L1/L2 weight decay (proximal or not), corruption level and kind, its
batch order and noise (drawn from its own generator, in the same order as alone), its epochs and its
early stopping. The pack shares the input, the batch size, the activation and the reconstruction
criterion (`pack_key`). Narrower hidden layers are padded to the widest with units held at zero, so
a trial computes in a pack what it computes alone, up to float rounding. A trial that is done (its
epochs run, its patience spent, or diverged) leaves the pack, and the others go on without it.
"""

import math

import torch

from layerwise.learn.criteria import reconstruction_losses
from layerwise.learn.epochs import Trainee, Watch, run_epochs
from layerwise.learn.models import ACTIVATIONS, NOISE
from layerwise.packs.engine import Batched, trial_chunks
from layerwise.packs.members import Update, column

ALGORITHMS = ("autoencoder", "denoising_autoencoder")
SHARED = ("batch_size", "activation", "reconstruction")


def pack_key(params: dict, parent_rank: int | None) -> tuple | None:
    """Trials with equal keys can train in one pack; None: the trial trains alone."""
    if params["algorithm"] not in ALGORITHMS:
        return None
    return (parent_rank, *(params[name] for name in SHARED))


def padded(tensor: torch.Tensor, rows: int) -> torch.Tensor:
    return torch.cat([tensor, tensor.new_zeros(rows - len(tensor), *tensor.shape[1:])])


class Pack(Batched):
    """The trials still training: their weights, momentum buffers and hyper-parameters, row by row."""

    def __init__(self, models, params: list[dict], n_train: int, device):
        self.n_train, self.batch_size = n_train, params[0]["batch_size"]  # what the pack shares (SHARED)
        self.activation, self.reconstruction = params[0]["activation"], params[0]["reconstruction"]
        widths = torch.tensor([model.encoder.out_features for model in models], device=device)
        width = int(widths.max())
        self.padded = bool((widths < width).any())
        tensors = {
            "weight": torch.stack([padded(model.encoder.weight.detach(), width) for model in models]),
            "bias": torch.stack([padded(model.encoder.bias.detach(), width) for model in models]).unsqueeze(1),
            "decoder_bias": torch.stack([model.decoder_bias.detach() for model in models]).unsqueeze(1),
            "units": (torch.arange(width, device=device) < widths.unsqueeze(1)).float().unsqueeze(1),
            "momentum": column([p["momentum"] for p in params], device),
            "nesterov": column([p["nesterov"] for p in params], device, torch.bool),
            "corruption": column([p.get("corruption", 0.0) for p in params], device),
            "gaussian": column([p.get("corruption_type") == "gaussian" for p in params], device, torch.bool),
        }
        super().__init__(tensors, [("weight", ["bias", "decoder_bias"])])

    def settle(self) -> None:
        super().settle()
        self.corrupting = bool((self["corruption"] > 0).any())

    def step(self, members, x, y, updates_done: int) -> torch.Tensor:
        return train_step(self, members, x, updates_done)

    def scores(self, x_valid, y_valid) -> list[dict]:
        return validation_losses(self, x_valid)

    def write_back(self, model, state: dict) -> None:
        units = model.encoder.out_features
        with torch.no_grad():
            model.encoder.weight.copy_(state["weight"][:units])
            model.encoder.bias.copy_(state["bias"][0, :units])
            model.decoder_bias.copy_(state["decoder_bias"][0])
        model.eval()

    def losses(self, x, target, rows: slice = slice(None)) -> torch.Tensor:
        """The reconstruction loss of `target` from `x` of every trial (of `rows`): (trials, examples, inputs)."""
        weight, bias = self["weight"][rows], self["bias"][rows]
        hidden = ACTIVATIONS[self.activation]()(torch.baddbmm(bias, x, weight.transpose(1, 2)))
        if self.padded:  # padding units give 0 whatever the activation gives at 0
            hidden = hidden * self["units"][rows]
        decoded = torch.baddbmm(self["decoder_bias"][rows], hidden, weight)
        return reconstruction_losses(self.reconstruction, decoded, target)


def noise_of(member: Trainee, shape) -> torch.Tensor:
    """The noise the trial alone would draw for a batch of this shape (zeros without corruption)."""
    if member.params.get("corruption", 0.0) <= 0:
        return torch.zeros(shape)
    return NOISE[member.params["corruption_type"]](shape, generator=member.generator)


def train_pack(models, params: list[dict], generators, listeners, x_train, x_valid) -> list:
    """Trains the auto-encoders `models` (DenoisingAutoencoder, each with its trial's `params`) together;
    returns per trial what `training.train_unsupervised` returns, or the Diverged error that ended it."""
    pack = Pack(models, params, len(x_train), x_train.device)
    updates = math.ceil(len(x_train) / pack.batch_size)
    trainees = [  # one weight layer each, at its base rate
        Trainee(model, p, generator, Watch(listener), updates, p["epochs"], p["patience"], ("valid_loss",),
                penalties=[(p["l1"], p["l2"])], scales=[1.0])
        for model, p, generator, listener in zip(models, params, generators, listeners, strict=True)
    ]  # fmt: skip
    return run_epochs(pack, trainees, x_train, None, x_valid, None)


def train_step(pack, members, clean, updates_done: int) -> torch.Tensor:
    """One SGD update of every trial on its own batch (trials, examples, inputs); returns each loss."""
    update = Update(members, updates_done, clean.shape[1], pack.n_train, pack.batch_size, clean.device)
    return pack.descend(update, lambda: pack.losses(corrupted(pack, members, clean), clean))


def corrupted(pack, members, clean: torch.Tensor) -> torch.Tensor:
    if not pack.corrupting:
        return clean
    noise = torch.stack([noise_of(member, clean.shape[1:]) for member in members]).to(clean.device)
    level, gaussian = pack["corruption"], pack["gaussian"]
    if not gaussian.any():
        return clean * (noise >= level)
    if gaussian.all():
        return clean + level * noise
    return torch.where(gaussian, clean + level * noise, clean * (noise >= level))


def validation_losses(pack, x_valid) -> list[dict]:
    """Each trial's reconstruction error on the clean validation set, in chunks of trials."""
    trials, width = pack["weight"].shape[:2]
    losses = []
    with torch.no_grad():
        for rows in trial_chunks(trials, len(x_valid), width):
            x = x_valid.expand(rows.stop - rows.start, *x_valid.shape)
            losses += pack.losses(x, x, rows).tolist()
    return [{"valid_loss": loss} for loss in losses]
