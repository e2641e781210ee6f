"""The layer objectives: every read-out tells informative features from noise; ridge_cv is the best
ridge on the grid; the logistic read-out is deterministic."""

import pytest
import torch

from layerwise.learn.readout import READOUTS, RIDGE_GRID, readout_error, ridge_readout_errors


def features(kind: str, seed: int = 0):
    generator = torch.Generator().manual_seed(seed)
    y = torch.arange(600) % 3
    noise = torch.randn(600, 20, generator=generator)
    x = noise + 5.0 * torch.nn.functional.one_hot(y, 20).float() if kind == "informative" else noise
    return x[:400], y[:400], x[400:], y[400:]


@pytest.mark.parametrize("readout", READOUTS)
def test_each_read_out_tells_informative_features_from_noise(readout):
    assert readout_error(readout, *features("informative"), 1e-3, 3) < 0.05
    assert readout_error(readout, *features("noise"), 1e-3, 3) > 0.5


def test_ridge_cv_is_the_best_ridge_of_its_grid_and_the_plain_ridge_uses_its_own_penalty():
    # few rows, many noisy features: the penalty matters
    generator = torch.Generator().manual_seed(1)
    y = torch.arange(120) % 3
    x = torch.randn(120, 80, generator=generator) + 0.8 * torch.nn.functional.one_hot(y, 80).float()
    split = (x[:60], y[:60], x[60:], y[60:])
    errors = ridge_readout_errors(*split, RIDGE_GRID, 3)
    assert len(set(errors)) > 1
    assert readout_error("ridge_cv", *split, 1e-3, 3) == min(errors)
    assert readout_error("ridge", *split, RIDGE_GRID[0], 3) == errors[0]


def test_the_logistic_read_out_gives_the_same_error_twice():
    split = features("informative", seed=3)
    noisy = (split[0] + torch.randn(400, 20), split[1], split[2] + torch.randn(200, 20), split[3])
    assert readout_error("logistic", *noisy, 1e-3, 3) == readout_error("logistic", *noisy, 1e-3, 3)
