"""Unsupervised layer learners (Bengio 2012, section 3.2) as fit/transform objects.

`fit(x_train, x_valid, generator, watch)` learns one layer on top of its input and returns self, with
`layer_` (the stack layer: weights, biases, activation), `history_`, `best_epoch_`, `stopped_epoch_`
and `reconstruction_` ({"train", "valid"} errors, or None); `transform(x)` gives the layer's features.
ALGORITHMS names them for the `algorithm` hyper-parameter. Each learner declares the hyper-parameters
it `uses` and keeps only those; a trial records only those too, so an RBM trial shows no corruption
level and a `none` trial no learning rate.
"""

import torch
from torch import nn

from layerwise.learn import stack as stacks
from layerwise.learn.epochs import UNWATCHED, Watch
from layerwise.learn.models import SPARSITY_WEIGHTS, DenoisingAutoencoder, init_linear, init_options
from layerwise.learn.rbm import RBM, visible_units_for
from layerwise.learn.training import train_unsupervised

SHAPE = ("hidden_units", "init_scale", "init_rule", "init_distribution")
TRAINING = (
    "learning_rate", "momentum", "nesterov", "bias_lr_scale", "lr_schedule", "lr_tau", "lr_tau_epochs",
    "batch_size", "epochs", "patience", "l1", "l2", "proximal_l1",
)  # fmt: skip


CHUNK_ROWS = 4096


def mean_error(model: nn.Module, x: torch.Tensor) -> float:
    """`model.reconstruction_error` (a mean over rows) over all of x, a chunk of rows at a time: the
    activations of a whole MNIST-sized training set would hold as much memory as the data."""
    total = 0.0
    with torch.no_grad():
        for start in range(0, len(x), CHUNK_ROWS):
            rows = x[start : start + CHUNK_ROWS]
            total += model.reconstruction_error(rows).item() * len(rows)
    return total / len(x)


class LayerLearner:
    uses: tuple[str, ...] = ()

    def __init__(self, params: dict):
        self.params = {name: value for name, value in params.items() if name in self.uses}

    def fit(
        self, x_train: torch.Tensor, x_valid: torch.Tensor, generator: torch.Generator, watch: Watch = UNWATCHED
    ) -> "LayerLearner":
        raise NotImplementedError

    def transform(self, x: torch.Tensor) -> torch.Tensor:
        return stacks.encode({"layers": [self.layer_]}, x)


class RandomLayer(LayerLearner):
    """No pretraining: the layer keeps its random initial weights, and fine-tuning alone trains it."""

    uses = (*SHAPE, "activation")

    def fit(self, x_train, x_valid, generator, watch=UNWATCHED):
        linear = nn.Linear(x_train.shape[1], self.params["hidden_units"])
        init_linear(linear, **init_options(self.params))
        self.layer_ = stacks.layer_of(linear, self.params["activation"])
        self.history_, self.best_epoch_, self.stopped_epoch_, self.reconstruction_ = {}, 0, 0, None
        return self


class TrainedLayer(LayerLearner):
    """A model with `encoder`, `training_loss` and `reconstruction_error`, trained by SGD.
    Without an `activation` hyper-parameter (an RBM) the layer's units are sigmoid."""

    def build(self, x_train: torch.Tensor, generator: torch.Generator) -> nn.Module:
        raise NotImplementedError

    def fit(self, x_train, x_valid, generator, watch=UNWATCHED):
        model = self.start(x_train, generator)
        result = train_unsupervised(model, x_train, x_valid, self.params, generator, watch)
        return self.finish(model, result, x_train, x_valid)

    def start(self, x_train: torch.Tensor, generator: torch.Generator) -> nn.Module:
        """The untrained model, on the input's device."""
        return self.build(x_train, generator).to(x_train.device)  # initialised on the CPU: the same weights anywhere

    def finish(self, model: nn.Module, result: dict, x_train: torch.Tensor, x_valid: torch.Tensor) -> "TrainedLayer":
        """Keeps the trained `model` and its training `result` (history, best and stopped epochs)."""
        self.model_ = model
        self.layer_ = stacks.layer_of(model.encoder, self.params.get("activation", "sigmoid"))
        self.history_, self.best_epoch_, self.stopped_epoch_ = (
            result["history"],
            result["best_epoch"],
            result["stopped_epoch"],
        )
        # clean inputs: comparable across corruption levels and algorithms
        self.reconstruction_ = {"train": mean_error(model, x_train), "valid": mean_error(model, x_valid)}
        return self


class AutoencoderLayer(TrainedLayer):
    """An auto-encoder with tied weights; its subclasses add input corruption or sparsity penalties."""

    uses = (*SHAPE, *TRAINING, "activation", "reconstruction")

    def build(self, x_train, generator):
        params = self.params
        if params["reconstruction"] == "cross_entropy" and (x_train.min() < 0 or x_train.max() > 1):
            raise ValueError(
                f"cross_entropy reconstruction needs inputs in [0, 1]; this layer's inputs span "
                f"[{x_train.min().item():.3g}, {x_train.max().item():.3g}] (uniformize them, or use squared_error)"
            )
        return DenoisingAutoencoder(
            x_train.shape[1],
            params["hidden_units"],
            params["activation"],
            params.get("corruption", 0.0),
            corruption_type=params.get("corruption_type", "masking"),
            reconstruction=params["reconstruction"],
            sparsity={name: params.get(name, 0.0) for name in SPARSITY_WEIGHTS},
            init=init_options(params),
            noise=generator,
        )


class DenoisingAutoencoderLayer(AutoencoderLayer):
    uses = (*AutoencoderLayer.uses, "corruption", "corruption_type")


class SparseAutoencoderLayer(AutoencoderLayer):
    uses = (*AutoencoderLayer.uses, *SPARSITY_WEIGHTS)


class RBMLayer(TrainedLayer):
    """An RBM trained by CD-k; the layer passes up p(h = 1 | v), so its activation is the sigmoid."""

    uses = (*SHAPE, *TRAINING, "cd_k", "rbm_visible")

    def build(self, x_train, generator):
        params = self.params
        visible = visible_units_for(x_train, params["rbm_visible"])
        return RBM(
            x_train.shape[1], params["hidden_units"], visible, params["cd_k"], init=init_options(params),
            standardize=x_train,
        )  # fmt: skip

    def finish(self, model, result, x_train, x_valid):
        """Gaussian visible units trained on standardized input: the layer takes raw input again."""
        super().finish(model, result, x_train, x_valid)
        self.layer_ = stacks.layer_of(model.folded_encoder(), "sigmoid")
        return self


ALGORITHMS = {
    "none": RandomLayer,
    "autoencoder": AutoencoderLayer,
    "denoising_autoencoder": DenoisingAutoencoderLayer,
    "sparse_autoencoder": SparseAutoencoderLayer,
    "rbm": RBMLayer,
}


def learner_for(params: dict) -> LayerLearner:
    return ALGORITHMS[params["algorithm"]](params)
