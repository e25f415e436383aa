"""Baselines on a hand-checked series."""

import numpy as np

from stages.core.baselines import simple as baselines
from stages.core.scoring.metrics import scores

SERIES = np.array([10.0, 12.0, 11.0, 15.0, 14.0, 18.0, 17.0, 21.0])


def test_naive_persistence_is_the_previous_value():
    pos = np.array([5, 6, 7])
    np.testing.assert_array_equal(baselines.naive(SERIES, pos, 1), [14.0, 18.0, 17.0])
    np.testing.assert_array_equal(baselines.naive(SERIES, pos, 2), [15.0, 14.0, 18.0])


def test_seasonal_naive_is_one_season_back_and_nan_before_the_start():
    pos = np.array([1, 2, 6, 7])
    out = baselines.seasonal_naive(SERIES, pos, 2)
    assert np.isnan(out[0])
    np.testing.assert_array_equal(out[1:], [10.0, 14.0, 18.0])


def test_mean_uses_the_training_rows_only():
    out = baselines.train_mean(SERIES, np.array([6, 7]), 4)
    np.testing.assert_array_equal(out, [12.0, 12.0])


def test_scores_by_hand_and_nan_forecasts_are_skipped():
    actual = np.array([18.0, 17.0, 21.0])
    naive = np.array([14.0, 18.0, 17.0])  # errors 4, -1, 4
    got = scores(actual, naive)
    assert got["mae"] == 3.0
    assert np.isclose(got["rmse"], np.sqrt(33 / 3))
    assert scores(actual, np.array([np.nan, 17.0, 21.0])) == {"rmse": 0.0, "mae": 0.0}


def test_forecasts_lists_every_applicable_baseline():
    names = baselines.forecasts(SERIES, np.array([6, 7]), 1, None, 4)
    assert list(names) == ["naive", "mean"]
    names = baselines.forecasts(SERIES, np.array([6, 7]), 1, 2, 4)
    assert list(names) == ["naive", "seasonal_naive", "mean"]


def test_a_target_the_model_never_sees_gets_only_the_mean_as_reference():
    names = baselines.forecasts(SERIES, np.array([6, 7]), 1, 2, 4, target_observed=False)
    assert list(names) == ["mean"]
    assert baselines.reference({"target_observed": False}) == "mean"
    assert baselines.reference({}) == "naive"
