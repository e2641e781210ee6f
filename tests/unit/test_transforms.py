import numpy as np
import pytest

from layerwise.transforms import PreprocessError, fit_preprocessor, transform

rng = np.random.default_rng(0)
TRAIN = rng.lognormal(size=(500, 6))
SHIFTED = TRAIN + 5.0  # data that a pipeline fitted on it would centre differently


def test_standardize_is_fitted_on_the_training_split_only():
    pipeline = fit_preprocessor([{"transform": "standardize"}], TRAIN)
    assert np.allclose(transform(pipeline, TRAIN).mean(axis=0), 0, atol=1e-5)
    # Other data is mapped with the training statistics, not its own: its mean stays shifted.
    assert np.allclose(transform(pipeline, SHIFTED).mean(axis=0), 5.0 / TRAIN.std(axis=0), atol=1e-4)


def test_pca_by_components_and_by_variance():
    assert transform(fit_preprocessor([{"transform": "pca", "n_components": 3}], TRAIN), TRAIN).shape == (500, 3)
    correlated = np.hstack([TRAIN[:, :2], TRAIN[:, :2] * 2 + 1e-6 * rng.normal(size=(500, 2))])
    kept = transform(fit_preprocessor([{"transform": "pca", "n_components": 0.999}], correlated), correlated)
    assert kept.shape[1] == 2


def test_uniformize_maps_each_feature_to_its_cdf():
    out = transform(fit_preprocessor([{"transform": "uniformize"}], TRAIN), TRAIN)
    assert out.min() >= 0 and out.max() <= 1
    assert np.allclose(out.mean(axis=0), 0.5, atol=0.01)


def test_steps_apply_in_order_and_log1p_shortens_heavy_tails():
    out = transform(fit_preprocessor([{"transform": "log1p"}, {"transform": "standardize"}], TRAIN), TRAIN)
    assert np.allclose(out.std(axis=0), 1, atol=1e-4)
    from scipy.stats import skew

    assert abs(skew(out[:, 0])) < abs(skew(TRAIN[:, 0]))


def test_log_of_negative_values_is_a_clear_error():
    with pytest.raises(PreprocessError, match="log1p needs non-negative features"):
        fit_preprocessor([{"transform": "standardize"}, {"transform": "log1p"}], TRAIN)


def test_unknown_transform_names_the_allowed_ones():
    with pytest.raises(PreprocessError, match="allowed values: standardize, pca, uniformize, log1p, sqrt"):
        fit_preprocessor([{"transform": "whiten"}], TRAIN)
