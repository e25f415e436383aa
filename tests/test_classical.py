"""Classical baselines: fitted on the fit rows only, one step ahead, deterministic."""

from __future__ import annotations

import json

import numpy as np
import pytest

from stages.core.baselines import classical
from stages.core.io import StageError

WHERE = "tasks.toy.classical"
FIT_STOP = 240
AR1 = {"name": "ar1", "kind": "arima", "order": [1, 0, 0]}
GRID = {"name": "grid", "kind": "arima", "search": {"p": [0, 3], "d": [0, 0], "q": [0, 1]}}
ETS = {"name": "ets", "kind": "ets", "trend": "add", "damped_trend": True}


def simulate_ar(phis: list[float], n: int = 300, seed: int = 7) -> np.ndarray:
    """An AR(p) series around 50, with a burn-in so it starts in its stationary regime."""
    rng = np.random.default_rng(seed)
    noise = rng.normal(size=n + 200)
    y = np.zeros(n + 200)
    for t in range(len(phis), len(y)):
        y[t] = sum(phi * y[t - 1 - i] for i, phi in enumerate(phis)) + noise[t]
    return 50.0 + y[200:]


def seasonal_series(n: int = 120, seed: int = 3) -> np.ndarray:
    """Positive monthly-like series: trend, a 12-step season and noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    return 100 + 0.5 * t + 10 * np.sin(2 * np.pi * t / 12) + rng.normal(scale=2, size=n)


@pytest.fixture(scope="module")
def ar2() -> np.ndarray:
    return simulate_ar([0.9, -0.5])


def run(observed: np.ndarray, specs: list[dict], fit_stop: int = FIT_STOP) -> dict:
    positions = np.arange(fit_stop, len(observed))
    return classical.forecasts(observed, positions, fit_stop, specs, WHERE)


def test_the_scored_split_never_moves_parameters_or_earlier_forecasts(ar2):
    specs = [AR1, GRID, ETS, {"name": "arima_1_1_1", "kind": "arima", "order": [1, 1, 1]}]
    base = run(ar2, specs)
    rng = np.random.default_rng(0)
    shaken = ar2.copy()
    shaken[FIT_STOP:] += rng.normal(scale=30, size=len(ar2) - FIT_STOP)
    for name, (_, info) in run(shaken, specs).items():
        assert info == base[name][1], name
    for p in (FIT_STOP, 270, len(ar2) - 1):
        changed = ar2.copy()
        changed[p:] = rng.normal(scale=100, size=len(ar2) - p)
        got = run(changed, specs)
        upto = p - FIT_STOP + 1  # forecasts for every position <= p
        for name, (pred, _) in got.items():
            np.testing.assert_array_equal(pred[:upto], base[name][0][:upto], err_msg=name)


def test_ar1_forecast_is_one_step_with_the_fitted_params():
    y = simulate_ar([0.8])
    pred, info = run(y, [AR1])["ar1"]
    assert info["order"] == [1, 0, 0] and info["fit_rows"] == FIT_STOP
    # Refit by hand on the fit rows to read the parameters the baseline used.
    from statsmodels.tsa.arima.model import ARIMA

    mean, phi = ARIMA(y[:FIT_STOP], order=(1, 0, 0)).fit().params[:2]
    assert abs(phi - 0.8) < 0.1
    by_hand = mean + phi * (y[FIT_STOP - 1 : -1] - mean)
    np.testing.assert_allclose(pred, by_hand, rtol=1e-10)


def test_aic_search_picks_the_true_order_and_info_is_json(ar2):
    pred, info = run(ar2, [GRID])["grid"]
    assert info["order"] == [2, 0, 0]
    assert info["candidates"] == 8 and info["fitted"] + info["failed"] == 8
    json.dumps(info)
    assert pred.dtype == np.float64 and np.all(np.isfinite(pred))


def test_seasonal_log_and_ets_search_give_sensible_forecasts():
    y = seasonal_series()
    specs = [
        {"name": "sarima", "kind": "arima", "order": [0, 1, 1],
         "seasonal_order": [0, 1, 1, 12], "log": True},
        {"name": "ets_aic", "kind": "ets", "search": "aic", "seasonal_periods": 12},
    ]  # fmt: skip
    out = run(y, specs, fit_stop=96)
    naive = np.sqrt(np.mean((y[95:-1] - y[96:]) ** 2))
    for name, (pred, info) in out.items():
        json.dumps(info)
        assert np.sqrt(np.mean((pred - y[96:]) ** 2)) < naive, name
    assert out["ets_aic"][1]["seasonal"] == "add"
    assert out["ets_aic"][1]["candidates"] == 6


@pytest.mark.parametrize(
    "spec, words",
    [
        ({"name": "x", "kind": "prophet"}, "kind:"),
        ({"kind": "arima", "order": [1, 0, 0]}, "name:"),
        ({"name": "x", "kind": "arima"}, "exactly one of 'order' and 'search'"),
        ({"name": "x", "kind": "arima", "order": [1, 0]}, "order:"),
        ({"name": "x", "kind": "arima", "search": {"p": [3, 0], "d": [0, 0], "q": [0, 0]}},
         "search.p"),
        ({"name": "x", "kind": "arima", "order": [1, 0, 0], "seasonal": [0, 1, 1, 12]},
         "unknown key"),
        ({"name": "x", "kind": "arima", "order": [1, 1, 0], "trend": "c"}, "no ARIMA model"),
        ({"name": "x", "kind": "ets", "seasonal": "add"}, "seasonal_periods"),
        ({"name": "x", "kind": "ets", "trend": "mul"}, "trend:"),
        ({"name": "x", "kind": "ets", "search": "bic"}, "search:"),
    ],
)  # fmt: skip
def test_bad_specs_name_the_params_key(ar2, spec, words):
    with pytest.raises(StageError) as err:
        run(ar2, [spec])
    assert WHERE in str(err.value) and words in str(err.value)


def test_log_of_a_series_with_zeros_is_refused(ar2):
    y = ar2.copy()
    y[10] = 0.0
    with pytest.raises(StageError, match="values <= 0"):
        run(y, [{**AR1, "log": True}])


def test_two_calls_are_bit_identical(ar2):
    first, second = run(ar2, [GRID, ETS]), run(ar2, [GRID, ETS])
    for name in first:
        np.testing.assert_array_equal(first[name][0], second[name][0])
        assert first[name][1] == second[name][1]
