"""The cheap layer objective: validation error of a closed-form ridge read-out on a layer's features.

It estimates "the relative validation error a network would get if this layer were its only
internal representation" (Bengio 2012, section 3.3) without any iterative training. The normal
equations are summed over chunks of rows, so that the float64 copy of the features never exceeds a
chunk: a shard on MNIST-sized data holds its data and its parents' features, not a second copy.
"""

import torch

CHUNK_ROWS = 4096


def with_bias(h: torch.Tensor) -> torch.Tensor:
    """h in float64 with a column of ones."""
    return torch.cat([h.double(), torch.ones(len(h), 1, dtype=torch.float64, device=h.device)], dim=1)


def chunks(h: torch.Tensor):
    """(rows, their features with a bias column in float64), chunk by chunk."""
    for start in range(0, len(h), CHUNK_ROWS):
        rows = slice(start, start + CHUNK_ROWS)
        yield rows, with_bias(h[rows])


def ridge_readout_error(h_train, y_train, h_valid, y_valid, ridge: float, n_classes: int) -> float:
    """Fits one-hot targets by ridge regression (float64, with a bias column) and returns the valid error."""
    width = h_train.shape[1] + 1
    gram = torch.zeros(width, width, dtype=torch.float64, device=h_train.device)
    moments = torch.zeros(width, n_classes, dtype=torch.float64, device=h_train.device)
    for rows, features in chunks(h_train):
        gram += features.T @ features
        moments += features.T @ torch.nn.functional.one_hot(y_train[rows], n_classes).double()
    identity = torch.eye(width, dtype=torch.float64, device=h_train.device)
    coefficients = torch.linalg.solve(gram + ridge * len(h_train) * identity, moments)
    if not torch.isfinite(coefficients).all():
        return 1.0
    mistakes = sum(
        ((features @ coefficients).argmax(1) != y_valid[rows]).sum().item() for rows, features in chunks(h_valid)
    )
    return mistakes / len(h_valid)
