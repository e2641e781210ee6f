"""The cheap layer objective: validation error of a closed-form ridge read-out on a layer's features.

It estimates "the relative validation error a network would get if this layer were its only
internal representation" (Bengio 2012, section 3.3) without any iterative training.
"""

import torch


def ridge_readout_error(h_train, y_train, h_valid, y_valid, ridge: float, n_classes: int) -> float:
    """Fits one-hot targets by ridge regression (float64, with a bias column) and returns the valid error."""
    features = torch.cat([h_train.double(), torch.ones(len(h_train), 1, dtype=torch.float64)], dim=1)
    targets = torch.nn.functional.one_hot(y_train, n_classes).double()
    gram = features.T @ features + ridge * len(features) * torch.eye(features.shape[1], dtype=torch.float64)
    coefficients = torch.linalg.solve(gram, features.T @ targets)
    valid = torch.cat([h_valid.double(), torch.ones(len(h_valid), 1, dtype=torch.float64)], dim=1)
    if not torch.isfinite(coefficients).all():
        return 1.0
    return ((valid @ coefficients).argmax(1) != y_valid).double().mean().item()
