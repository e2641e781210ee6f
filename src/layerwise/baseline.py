"""The baseline beside every result: a regularised logistic regression on the preprocessed input.

Its inverse regularisation C is chosen on the validation split from a log-spaced grid, then it is
fitted again on training + validation data, as the reported network's refits are; evaluate.py scores
it on the test split. A user sees at a glance whether the deep search earned its cost.
"""

import numpy as np

C_GRID = tuple(10.0**power for power in range(-3, 4))


def logistic_regression(c: float):
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(C=c, max_iter=2000)


def logistic_baseline(train, valid, test) -> dict:
    """(x, y) pairs of numpy arrays in; C, its validation error, and the test error of the refit."""
    valid_errors = {c: 1.0 - logistic_regression(c).fit(*train).score(*valid) for c in C_GRID}
    best = min(C_GRID, key=lambda c: (valid_errors[c], c))  # ties: the stronger regularisation
    model = logistic_regression(best).fit(np.concatenate([train[0], valid[0]]), np.concatenate([train[1], valid[1]]))
    test_error = 1.0 - model.score(*test)
    return {
        "model": "logistic_regression",
        "C": best,
        "valid_error": valid_errors[best],
        "test_error": test_error,
        "test_accuracy": 1.0 - test_error,
    }
