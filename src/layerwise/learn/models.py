"""Networks: a denoising auto-encoder layer and the classifier built from a stack of them. No I/O here."""

import math

import torch
from torch import nn

from layerwise.learn import criteria

ACTIVATIONS = {
    "sigmoid": nn.Sigmoid,
    "tanh": nn.Tanh,
    "relu": nn.ReLU,  # the rectifier
    "hard_tanh": nn.Hardtanh,
    "softplus": nn.Softplus,
}
NOISE = {"masking": torch.rand, "gaussian": torch.randn}  # what each corruption draws: kept if >= level, or added
SPARSITY_WEIGHTS = ("sparsity_l1", "sparsity_kl", "sparsity_target", "sparsity_student_t")


def init_width(fan_in: int, fan_out: int, scale: float, rule: str) -> float:
    """c*sqrt(6/(fan_in+fan_out)) (Glorot & Bengio 2010) or c/sqrt(fan_in), with c = `scale`."""
    if rule == "fan_in":
        return scale / math.sqrt(fan_in)
    return scale * math.sqrt(6.0 / (fan_in + fan_out))


def init_linear(layer: nn.Linear, scale: float = 1.0, rule: str = "fan_avg", distribution: str = "uniform") -> None:
    """Biases 0; weights uniform in [-w, w], or normal with standard deviation w, w from `init_width`."""
    width = init_width(layer.in_features, layer.out_features, scale, rule)
    if distribution == "normal":
        nn.init.normal_(layer.weight, 0.0, width)
    else:
        nn.init.uniform_(layer.weight, -width, width)
    nn.init.zeros_(layer.bias)


def init_options(params: dict) -> dict:
    """The init_linear keyword arguments a trial's hyper-parameters ask for."""
    return {"scale": params["init_scale"], "rule": params["init_rule"], "distribution": params["init_distribution"]}


def corrupt(x: torch.Tensor, level: float, kind: str, generator: torch.Generator | None) -> torch.Tensor:
    """Masking (each input zeroed with probability `level`) or Gaussian noise (standard deviation
    `level`). The noise is drawn on the CPU from `generator`, the trial's own: a trial draws the same
    noise alone or trained in a pack with others (packs/autoencoders.py), on any device."""
    if level <= 0:
        return x
    noise = NOISE[kind](x.shape, generator=generator).to(x.device)
    return x + level * noise if kind == "gaussian" else x * (noise >= level)


def dropout_mask(shape, p: float, device=None) -> torch.Tensor:
    """A dropout mask: 1 / (1 - p) where uniform noise from torch's generator is >= p, else 0. Uniform
    noise costs a third of nn.Dropout's Bernoulli draw on the CPU, and a pack of trials draws each
    trial's noise alike (packs/classifiers.py), making the masks of all at once."""
    return (torch.rand(shape, device=device) >= p) / (1 - p)


class Dropout(nn.Module):
    """Dropout (in training only) with masks from `dropout_mask`."""

    def __init__(self, p: float):
        super().__init__()
        self.p = p

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * dropout_mask(x.shape, self.p, x.device) if self.training else x

    def extra_repr(self) -> str:
        return f"p={self.p}"


class DenoisingAutoencoder(nn.Module):
    """One layer: h = f(Wx + b), tied decoder g(W^T h + c), trained to rebuild x from a corrupted copy.

    Corruption is masking or Gaussian (`corrupt`), its noise drawn from `noise`, the trial's
    generator; the decoder's output units and loss come as a pair (`reconstruction`); `sparsity`
    holds the coefficients of the penalties on h (criteria.py).
    """

    def __init__(
        self,
        n_in: int,
        n_hidden: int,
        activation: str,
        corruption: float,
        corruption_type: str = "masking",
        reconstruction: str = "squared_error",
        sparsity: dict | None = None,
        init: dict | None = None,
        noise: torch.Generator | None = None,
    ):
        super().__init__()
        self.encoder = nn.Linear(n_in, n_hidden)
        self.decoder_bias = nn.Parameter(torch.zeros(n_in))
        self.activation = ACTIVATIONS[activation]()
        self.corruption, self.corruption_type, self.noise = corruption, corruption_type, noise
        self.reconstruction = reconstruction
        self.sparsity = sparsity or {name: 0.0 for name in SPARSITY_WEIGHTS}
        init_linear(self.encoder, **(init or {}))

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self.activation(self.encoder(x))

    def decode(self, hidden: torch.Tensor) -> torch.Tensor:
        """The decoder's pre-activation (tied weights)."""
        return nn.functional.linear(hidden, self.encoder.weight.t(), self.decoder_bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The reconstruction of x, in input space (no corruption: for evaluation)."""
        return criteria.output(self.reconstruction, self.decode(self.encode(x)))

    def reconstruction_error(self, x: torch.Tensor) -> torch.Tensor:
        return criteria.reconstruction_loss(self.reconstruction, self.decode(self.encode(x)), x)

    def training_loss(self, x: torch.Tensor) -> torch.Tensor:
        """Reconstruction of x from its corrupted copy, plus the sparsity penalties on the code."""
        hidden = self.encode(corrupt(x, self.corruption, self.corruption_type, self.noise))
        loss = criteria.reconstruction_loss(self.reconstruction, self.decode(hidden), x)
        return loss + criteria.sparsity_penalty(hidden, self.sparsity)


def build_encoder(layers: list[dict]) -> nn.Sequential:
    """The frozen-or-trainable feature stack: Linear + activation per layer spec."""
    modules = []
    for spec in layers:
        modules += [nn.Linear(spec["n_in"], spec["n_hidden"]), ACTIVATIONS[spec["activation"]]()]
    return nn.Sequential(*modules)


def build_classifier(architecture: dict) -> nn.Sequential:
    """Encoder layers (with dropout after each hidden layer, if any) and a linear output layer.

    The softmax lives in the loss. `architecture` is what a checkpoint stores, so a saved network
    rebuilds itself: {"n_in", "layers": [layer specs], "n_classes", "dropout"}.
    """
    layers, dropout = architecture["layers"], architecture.get("dropout", 0.0)
    modules = []
    for hidden in build_encoder(layers):
        modules.append(hidden)
        if dropout > 0 and not isinstance(hidden, nn.Linear):
            modules.append(Dropout(dropout))
    n_top = layers[-1]["n_hidden"] if layers else architecture["n_in"]
    return nn.Sequential(*modules, nn.Linear(n_top, architecture["n_classes"]))


class Ensemble(nn.Module):
    """Networks whose class probabilities are averaged. It returns the log of the average: read as
    logits, its argmax is the ensemble's class and its cross-entropy the ensemble's loss."""

    def __init__(self, networks: list[nn.Module]):
        super().__init__()
        self.networks = nn.ModuleList(networks)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        probabilities = torch.stack([torch.softmax(network(x), dim=1) for network in self.networks])
        return probabilities.mean(0).log()
