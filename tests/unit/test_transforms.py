import numpy as np
import pytest

from layerwise.data.transforms import (
    PreprocessError,
    candidate_pipelines,
    fit_preprocessor,
    imputes,
    pipeline_steps,
    transform,
)

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
    with pytest.raises(PreprocessError, match="allowed values: impute, standardize, pca, uniformize, log1p, sqrt"):
        fit_preprocessor([{"transform": "whiten"}], TRAIN)


@pytest.mark.parametrize("strategy", ["median", "mean", "most_frequent"])
def test_impute_fills_missing_values_from_the_training_split(strategy):
    train = np.array([[1.0, 10.0], [np.nan, 20.0], [3.0, 20.0], [3.0, np.nan]], dtype=np.float32)
    steps = pipeline_steps("impute+standardize", {"impute_strategy": strategy, "impute_indicator": True})
    assert steps[0] == {"transform": "impute", "strategy": strategy, "indicator": True}
    pipeline = fit_preprocessor(steps, train)
    filled = pipeline.steps[0][1].transform(np.array([[np.nan, np.nan]], dtype=np.float32))
    expected = {"median": [3.0, 20.0], "mean": [7 / 3, 50 / 3], "most_frequent": [3.0, 20.0]}[strategy]
    assert np.allclose(filled[0, :2], expected) and filled[0, 2:].tolist() == [1.0, 1.0]  # the indicator columns
    assert imputes(pipeline) and imputes("impute+pca") and not imputes(fit_preprocessor([], train[:1]))


def test_only_a_pipeline_with_pca_takes_its_components_and_one_with_impute_its_strategy():
    params = {"pca_components": 3, "impute_strategy": "mean"}
    assert pipeline_steps("standardize+pca", params) == [
        {"transform": "standardize"},
        {"transform": "pca", "n_components": 3},
    ]
    assert pipeline_steps("impute", params) == [{"transform": "impute", "strategy": "mean"}]
    space = {"pipeline": {"type": "categorical", "choices": ["impute+standardize", "impute"]}}
    assert candidate_pipelines(space, {"name": "grid", "grid": {"pipeline": ["none"]}}) == [
        "impute+standardize",
        "impute",
        "none",
    ]
