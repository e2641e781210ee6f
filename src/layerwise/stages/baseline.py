"""The baseline beside every result: a regularised logistic regression on the preprocessed input.

Its inverse regularisation C is chosen on the validation split from a log-spaced grid, then it is
fitted again on training + validation data, as the reported network's refits are. It is also a
network the search can express (no hidden layer, a softmax on the input), so it comes back as a
checkpoint evaluate.py scores, and a candidate for the final model (choice.py).
"""

import numpy as np
import torch

C_GRID = tuple(10.0**power for power in range(-3, 4))
NEVER = -1e4  # the bias of a class the fit never saw: its probability is nil


def logistic_regression(c: float):
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(C=c, max_iter=2000)


def logistic_baseline(train, valid, n_classes: int) -> tuple[dict, dict, np.ndarray]:
    """(x, y) pairs of numpy arrays in; (C and its validation error, the refit on train + valid as a
    network checkpoint that model.network.load_network rebuilds, whether the fit on train alone errs on
    each validation row)."""
    wrong = {c: logistic_regression(c).fit(*train).predict(valid[0]) != valid[1] for c in C_GRID}
    best = min(C_GRID, key=lambda c: (wrong[c].mean(), c))  # ties: the stronger regularisation
    model = logistic_regression(best).fit(np.concatenate([train[0], valid[0]]), np.concatenate([train[1], valid[1]]))
    record = {"model": "logistic_regression", "C": best, "valid_error": float(wrong[best].mean())}
    return record, as_network(model, train[0].shape[1], n_classes), wrong[best]


def cross_fitted_wrong(x: np.ndarray, y: np.ndarray, folds: list[tuple], c: float) -> np.ndarray:
    """Whether the baseline with inverse regularisation `c` errs on each row, fitted on the rows outside
    the fold that holds it (stages/choice.py's folds)."""
    wrong = np.empty(len(y), dtype=bool)
    for kept, held in folds:
        wrong[held] = logistic_regression(c).fit(x[kept], y[kept]).predict(x[held]) != y[held]
    return wrong


def as_network(model, n_features: int, n_classes: int) -> dict:
    """A fitted LogisticRegression as the checkpoint of a network with no hidden layer: the same
    class probabilities (a binary fit's one row of log-odds becomes the second class's logit)."""
    coef, intercept = model.coef_, model.intercept_
    if len(model.classes_) == 2:
        coef, intercept = np.vstack([np.zeros_like(coef), coef]), np.concatenate([[0.0], intercept])
    weight = torch.zeros(n_classes, n_features)
    bias = torch.full((n_classes,), NEVER)
    classes = torch.as_tensor(model.classes_, dtype=torch.long)
    weight[classes] = torch.as_tensor(coef, dtype=torch.float32)
    bias[classes] = torch.as_tensor(intercept, dtype=torch.float32)
    architecture = {"n_in": n_features, "layers": [], "n_classes": n_classes, "dropout": 0.0}
    return {"architecture": architecture, "state_dict": {"0.weight": weight, "0.bias": bias}}
