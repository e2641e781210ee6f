"""Auto-encoder training criteria (Bengio 2012, section 3.2).

Reconstruction losses come paired with their output units: a linear output with squared error
(Gaussian), a sigmoid output with cross-entropy (binomial; inputs in [0, 1]). Sparsity penalties
push hidden activations towards 0: L1 on the activations, a Student-t penalty log(1 + h^2), and the
KL divergence between a target activation p and each unit's mean activation over the batch.
"""

import torch
from torch import nn

EPSILON = 1e-6


def reconstruction_loss(kind: str, pre_output: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Mean over elements; `pre_output` is the decoder's pre-activation (logits for cross-entropy)."""
    if kind == "cross_entropy":
        return nn.functional.binary_cross_entropy_with_logits(pre_output, x)
    return nn.functional.mse_loss(pre_output, x)


def reconstruction_losses(kind: str, pre_output: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """`reconstruction_loss` of each model of a batch of models: (models, examples, inputs) -> (models,)."""
    if kind == "cross_entropy":
        return nn.functional.binary_cross_entropy_with_logits(pre_output, x, reduction="none").mean(dim=(1, 2))
    return (pre_output - x).pow(2).mean(dim=(1, 2))


def output(kind: str, pre_output: torch.Tensor) -> torch.Tensor:
    """The reconstruction in input space: sigmoid units for cross-entropy, linear units otherwise."""
    return torch.sigmoid(pre_output) if kind == "cross_entropy" else pre_output


def l1_activity(hidden: torch.Tensor) -> torch.Tensor:
    """Sum over units of |h|, averaged over the batch."""
    return hidden.abs().sum(dim=1).mean()


def student_t_sparsity(hidden: torch.Tensor) -> torch.Tensor:
    """Sum over units of log(1 + h^2), averaged over the batch."""
    return torch.log1p(hidden.pow(2)).sum(dim=1).mean()


def kl_sparsity(hidden: torch.Tensor, target: float) -> torch.Tensor:
    """Sum over units of KL(p || rho_j), rho_j the unit's mean activation over the batch (in (0, 1))."""
    rho = hidden.mean(dim=0).clamp(EPSILON, 1 - EPSILON)
    return (target * torch.log(target / rho) + (1 - target) * torch.log((1 - target) / (1 - rho))).sum()


def sparsity_penalty(hidden: torch.Tensor, weights: dict) -> torch.Tensor | float:
    """The weighted sum of the penalties whose coefficient is positive (0 when none is)."""
    penalty = 0.0
    if weights["sparsity_l1"] > 0:
        penalty = penalty + weights["sparsity_l1"] * l1_activity(hidden)
    if weights["sparsity_student_t"] > 0:
        penalty = penalty + weights["sparsity_student_t"] * student_t_sparsity(hidden)
    if weights["sparsity_kl"] > 0:
        penalty = penalty + weights["sparsity_kl"] * kl_sparsity(hidden, weights["sparsity_target"])
    return penalty
