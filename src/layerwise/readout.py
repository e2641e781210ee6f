"""The cheap layer objective: validation error of a closed-form ridge read-out on a layer's features.

It estimates "the relative validation error a network would get if this layer were its only
internal representation" (Bengio 2012, section 3.3) without any iterative training.
"""

import torch


def with_bias(h: torch.Tensor) -> torch.Tensor:
    """h in float64 with a column of ones."""
    return torch.cat([h.double(), torch.ones(len(h), 1, dtype=torch.float64, device=h.device)], dim=1)


def ridge_readout_error(h_train, y_train, h_valid, y_valid, ridge: float, n_classes: int) -> float:
    """Fits one-hot targets by ridge regression (float64, with a bias column) and returns the valid error."""
    features = with_bias(h_train)
    targets = torch.nn.functional.one_hot(y_train, n_classes).double()
    identity = torch.eye(features.shape[1], dtype=torch.float64, device=features.device)
    coefficients = torch.linalg.solve(features.T @ features + ridge * len(features) * identity, features.T @ targets)
    valid = with_bias(h_valid)
    if not torch.isfinite(coefficients).all():
        return 1.0
    return ((valid @ coefficients).argmax(1) != y_valid).double().mean().item()
