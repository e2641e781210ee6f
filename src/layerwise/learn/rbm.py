"""A restricted Boltzmann machine trained by contrastive divergence CD-k (Bengio 2012, section 3.2).

Hidden units are binary (Bernoulli). Visible units are Bernoulli for inputs in [0, 1], or Gaussian
with unit variance for real-valued inputs: the RBM standardizes those itself, with the mean and
standard deviation of its training input (unit variance is then true of the data, whatever the layer
below emits), and `folded_encoder` folds the standardization into the layer it passes up. No I/O here.

The criterion is on the auto-encoders' scale: per example, averaged over the visible units (their
reconstruction error is a mean over inputs), so one `learning_rate` and `l2` range means the same
step size for both. Summed over the units, an RBM's steps would be n_visible times larger.
"""

import torch
from torch import nn

from layerwise.learn.epochs import Diverged
from layerwise.learn.models import init_linear


def visible_units_for(x: torch.Tensor, requested: str) -> str:
    """The visible units an input calls for: Bernoulli if it lies in [0, 1], Gaussian otherwise."""
    in_unit_interval = bool(x.min() >= 0 and x.max() <= 1)
    if requested == "auto":
        return "bernoulli" if in_unit_interval else "gaussian"
    if requested == "bernoulli" and not in_unit_interval:
        raise ValueError(
            f"rbm_visible: bernoulli needs inputs in [0, 1]; this layer's inputs span "
            f"[{x.min().item():.3g}, {x.max().item():.3g}] (use gaussian or auto, or uniformize the data)"
        )
    return requested


class RBM(nn.Module):
    """Energy E(v, h) = -b'h - v'W'h + visible term: -c'v (Bernoulli) or |v - c|^2 / 2 (Gaussian)."""

    def __init__(
        self,
        n_visible: int,
        n_hidden: int,
        visible: str,
        cd_steps: int,
        init: dict | None = None,
        standardize: torch.Tensor | None = None,
    ):
        """`standardize`: the training input whose moments Gaussian visible units standardize by."""
        super().__init__()
        self.encoder = nn.Linear(n_visible, n_hidden)  # W and the hidden biases b, on standardized input
        self.visible_bias = nn.Parameter(torch.zeros(n_visible))  # c
        self.visible, self.cd_steps = visible, cd_steps
        init_linear(self.encoder, **(init or {}))
        gaussian = visible == "gaussian" and standardize is not None
        self.register_buffer("input_mean", standardize.mean(0) if gaussian else torch.zeros(n_visible))
        self.register_buffer("input_std", standardize.std(0).clamp_min(1e-6) if gaussian else torch.ones(n_visible))

    def standardized(self, v: torch.Tensor) -> torch.Tensor:
        return (v - self.input_mean) / self.input_std

    def folded_encoder(self) -> nn.Linear:
        """The up-pass on raw input: W' = W / std (per input), b' = b - W' mean."""
        folded = nn.Linear(self.encoder.in_features, self.encoder.out_features)
        with torch.no_grad():
            folded.weight.copy_(self.encoder.weight / self.input_std)
            folded.bias.copy_(self.encoder.bias - folded.weight @ self.input_mean)
        return folded

    def hidden_probability(self, v: torch.Tensor) -> torch.Tensor:
        """p(h = 1 | v): also the features the layer passes up (sigmoid units)."""
        return torch.sigmoid(self.encoder(v))

    def visible_mean(self, h: torch.Tensor) -> torch.Tensor:
        """E[v | h]: sigmoid for Bernoulli units, linear for Gaussian ones."""
        pre = nn.functional.linear(h, self.encoder.weight.t(), self.visible_bias)
        return torch.sigmoid(pre) if self.visible == "bernoulli" else pre

    def sample_visible(self, h: torch.Tensor) -> torch.Tensor:
        mean = self.visible_mean(h)
        return torch.bernoulli(mean) if self.visible == "bernoulli" else mean + torch.randn_like(mean)

    def free_energy(self, v: torch.Tensor) -> torch.Tensor:
        """F(v) = -log sum_h exp(-E(v, h)), per example."""
        if self.visible == "bernoulli":
            visible_term = -(v @ self.visible_bias)
        else:
            visible_term = 0.5 * (v - self.visible_bias).pow(2).sum(dim=1)
        return visible_term - nn.functional.softplus(self.encoder(v)).sum(dim=1)

    def negative_sample(self, v: torch.Tensor) -> torch.Tensor:
        """The end of a k-step Gibbs chain started at the data; its last visible state is the mean
        rather than a sample, which lowers the variance of the gradient (Hinton's practical guide)."""
        with torch.no_grad():
            probability = self.hidden_probability(v)
            if not torch.isfinite(probability).all():  # torch.bernoulli would fail with a cryptic message
                raise Diverged("the RBM's hidden probabilities are not finite")
            h = torch.bernoulli(probability)
            for _ in range(self.cd_steps - 1):
                h = torch.bernoulli(self.hidden_probability(self.sample_visible(h)))
            return self.visible_mean(h)

    def training_loss(self, v: torch.Tensor) -> torch.Tensor:
        """F(data) - F(chain end) per example and visible unit: its gradient is the CD-k estimate of the
        negative log-likelihood's, divided by n_visible (the module's docstring says why)."""
        v = self.standardized(v)
        return (self.free_energy(v) - self.free_energy(self.negative_sample(v))).mean() / v.shape[1]

    def reconstruction_error(self, v: torch.Tensor) -> torch.Tensor:
        """Mean squared error of the mean-field reconstruction v -> p(h|v) -> E[v|h] (standardized)."""
        v = self.standardized(v)
        return nn.functional.mse_loss(self.visible_mean(self.hidden_probability(v)), v)
