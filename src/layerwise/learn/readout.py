"""The cheap layer objective: validation error of a simple supervised read-out on a layer's features.

It estimates "the relative validation error a network would get if this layer were its only
internal representation" (Bengio 2012, section 3.3). The read-outs (`pretrain.readout`):
- ridge: a closed-form ridge regression onto one-hot targets, with the penalty `readout_ridge`;
- ridge_cv: the same, its penalty chosen on the validation split from RIDGE_GRID (one Gram matrix,
  one solve per penalty);
- logistic: a multinomial logistic regression (softmax) fitted by L-BFGS, full batch.
The ridge's normal equations are summed over chunks of rows, so that the float64 copy of the features
never exceeds a chunk: a shard on MNIST-sized data holds its data and its parents' features, not a
second copy. benchmarks/layer_objective.py measures how well each ranks stacks by the error of the
networks fine-tuned from them.
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


READOUTS = ("ridge", "ridge_cv", "logistic")
RIDGE_GRID = tuple(10.0**power for power in range(-5, 1))
LOGISTIC_STEPS = 100


def readout_error(readout: str, h_train, y_train, h_valid, y_valid, ridge: float, n_classes: int) -> float:
    """The validation error of the read-out `readout` (READOUTS) fitted on (h_train, y_train)."""
    if readout == "logistic":
        return logistic_readout_error(h_train, y_train, h_valid, y_valid, n_classes)
    ridges = RIDGE_GRID if readout == "ridge_cv" else (ridge,)
    return min(ridge_readout_errors(h_train, y_train, h_valid, y_valid, ridges, n_classes))


def ridge_readout_error(h_train, y_train, h_valid, y_valid, ridge: float, n_classes: int) -> float:
    return ridge_readout_errors(h_train, y_train, h_valid, y_valid, (ridge,), n_classes)[0]


def ridge_readout_errors(h_train, y_train, h_valid, y_valid, ridges, n_classes: int) -> list[float]:
    """Fits one-hot targets by ridge regression (float64, with a bias column), once per penalty in
    `ridges`, and returns each fit's validation error."""
    width = h_train.shape[1] + 1
    gram = torch.zeros(width, width, dtype=torch.float64, device=h_train.device)
    moments = torch.zeros(width, n_classes, dtype=torch.float64, device=h_train.device)
    for rows, features in chunks(h_train):
        gram += features.T @ features
        moments += features.T @ torch.nn.functional.one_hot(y_train[rows], n_classes).double()
    identity = torch.eye(width, dtype=torch.float64, device=h_train.device)
    errors = []
    for ridge in ridges:
        coefficients = torch.linalg.solve(gram + ridge * len(h_train) * identity, moments)
        if not torch.isfinite(coefficients).all():
            errors.append(1.0)
            continue
        mistakes = sum(
            ((features @ coefficients).argmax(1) != y_valid[rows]).sum().item() for rows, features in chunks(h_valid)
        )
        errors.append(mistakes / len(h_valid))
    return errors


def logistic_readout_error(h_train, y_train, h_valid, y_valid, n_classes: int) -> float:
    """A softmax on the features (standardized with the training split's moments), fitted by
    LOGISTIC_STEPS iterations of full-batch L-BFGS from zero weights: deterministic, no generator."""
    mean, scale = h_train.mean(0), h_train.std(0).clamp_min(1e-6)
    weight = torch.zeros(h_train.shape[1], n_classes, device=h_train.device, requires_grad=True)
    bias = torch.zeros(n_classes, device=h_train.device, requires_grad=True)
    optimizer = torch.optim.LBFGS([weight, bias], max_iter=LOGISTIC_STEPS, line_search_fn="strong_wolfe")
    standardized = (h_train - mean) / scale

    def closure():
        optimizer.zero_grad()
        loss = torch.nn.functional.cross_entropy(standardized @ weight + bias, y_train)
        loss = loss + 1e-4 * weight.pow(2).sum()  # a little decay keeps separable features finite
        loss.backward()
        return loss

    with torch.enable_grad():
        optimizer.step(closure)
    with torch.no_grad():
        predicted = (((h_valid - mean) / scale) @ weight + bias).argmax(1)
    if not torch.isfinite(weight).all():
        return 1.0
    return (predicted != y_valid).double().mean().item()
