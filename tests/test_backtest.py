"""Rolling-origin backtests (#22): no look-ahead, calibrated intervals, per-step verdicts
and the contract file, on simulated series (no DVC, no TensorFlow)."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from statsmodels.tsa.arima.model import ARIMA

from stages.core.baselines import classical
from stages.core.baselines.forecasters import (
    Classical,
    History,
    Lagged,
    LinearAR,
    Mean,
    Naive,
    SeasonalNaive,
)
from stages.core.config.tasks import Arima, Ets
from stages.core.data.transforms import Transform
from stages.core.models.forecaster import Network
from stages.core.scoring import backtest as bt
from stages.core.scoring.significance import diebold_mariano


def ar1(n: int, phi: float = 0.7, seed: int = 0, level: float = 50.0) -> np.ndarray:
    """A stationary AR(1) around `level` with unit Gaussian noise."""
    rng = np.random.default_rng(seed)
    y = np.empty(n)
    y[0] = 0.0
    for t in range(1, n):
        y[t] = phi * y[t - 1] + rng.standard_normal()
    return y + level


def history(observed: np.ndarray, difference: int = 0, lookback: int = 6) -> History:
    """A univariate History, the scaler fitted on the first 60 % as prepare would."""
    n = len(observed)
    bounds = (int(n * 0.6), int(n * 0.8))
    transform = Transform(difference=difference, scaler="standard")
    values = observed[:, None]
    transform.fit(values, slice(0, bounds[0]))
    scaled = transform.forward(values)
    return History(observed, scaled, scaled[:, 0], transform, bounds, lookback)


def perturbed(h: History, after: int) -> History:
    """The same history with every row after `after` replaced by noise."""
    observed = h.observed.copy()
    rng = np.random.default_rng(99)
    observed[after + 1 :] = rng.normal(500.0, 100.0, len(observed) - after - 1)
    scaled = h.transform.forward(observed[:, None])
    return History(observed, scaled, scaled[:, 0], h.transform, h.bounds, h.lookback)


def gru_record(outputs: int, units: int = 4, seed: int = 0) -> tuple[dict, list[np.ndarray]]:
    """A GRU variant.json and random weights in Keras's layout (kernel, recurrent, bias)."""
    rng = np.random.default_rng(seed)
    weights = [
        rng.normal(0, 0.3, (1, 3 * units)),
        rng.normal(0, 0.3, (units, 3 * units)),
        rng.normal(0, 0.1, (2, 3 * units)),
        rng.normal(0, 0.3, (units, outputs)),
        rng.normal(0, 0.1, (outputs,)),
    ]
    model = {"layers": [{"type": "gru", "units": units}],
             "head": {"units": outputs, "activation": "linear"}}  # fmt: skip
    return {"task": "sim", "model": model, "batch_size": 32}, weights


def network(outputs: int, base=None) -> Network:
    """A Network forecaster over two random-weight seeds, without files."""
    net = Network.__new__(Network)
    net.name, net.base, net.per_seed = "sim-gru", base, []
    net.runs, net.weights = {}, {}
    for seed in (1, 2):
        net.runs[seed], net.weights[seed] = gru_record(outputs, seed=seed)
    return net


HORIZON = 4


def every_forecaster(h: History) -> list:
    arima = Arima(name="ar1", kind="arima", order=[1, 0, 0], trend="c")
    ets = Ets(name="ets", kind="ets")
    return [
        Naive(), SeasonalNaive(5), Mean(), LinearAR(HORIZON), Lagged("ridge_ar", HORIZON, 4),
        Lagged("gradient_boosting", HORIZON, 4), Classical(arima, "tasks.sim.classical"),
        Classical(ets, "tasks.sim.classical"), network(HORIZON), network(1),
    ]  # fmt: skip


@pytest.mark.parametrize("difference", [0, 1])
def test_no_forecaster_reads_a_row_after_its_origin(difference):
    """Perturbing every row after an origin changes none of the forecasts from it."""
    h = history(ar1(300), difference)
    origins = np.array([h.bounds[1] - 1, h.bounds[1] + 10, h.bounds[1] + 25])
    for model in every_forecaster(h):
        model.fit(h, h.bounds[1])
        for origin in origins:
            first = model.predict(h, np.array([origin]), HORIZON, [0.8]).mean
            again = model.predict(perturbed(h, origin), np.array([origin]), HORIZON, [0.8]).mean
            assert np.allclose(first, again, equal_nan=True), (model.name, origin)


def test_baselines_fitted_on_training_rows_only():
    """Refitting on more rows moves nothing that is fitted on the training rows (mean,
    linear AR, the lagged regressions): perturb validation and test, compare."""
    h = history(ar1(300))
    origins = np.arange(h.bounds[1] - 1, len(h.observed) - 1)
    for model in (Mean(), LinearAR(HORIZON), Lagged("ridge_ar", HORIZON, 4)):
        model.fit(h, h.bounds[1])
        before = model.predict(h, origins, HORIZON, []).mean
        other = perturbed(h, h.bounds[0] - 1)
        model.fit(other, other.bounds[1])
        after = model.predict(h, origins, HORIZON, []).mean
        assert np.allclose(before, after), model.name


def test_conformal_intervals_reach_nominal_coverage_on_ar1():
    """Split-conformal intervals from validation errors cover about 80 % and 95 % of test
    targets of an AR(1) over many origins, at every step."""
    h = history(ar1(6000, seed=3))
    origins = bt.test_origins(h.bounds, len(h.observed), 1)
    calib = bt.calibration_origins(h.bounds)
    model = LinearAR(HORIZON)
    fc = bt.historical_forecasts(model, h, origins, HORIZON, [0.8, 0.95], 1)
    errors = model.predict(h, calib, HORIZON, []).mean - bt.held_targets(
        h, calib, HORIZON, h.bounds[1]
    )
    bounds = bt.conformal_bounds(fc.mean, errors, [0.8, 0.95])
    actual = h.targets(origins, HORIZON)
    for level, (lo, hi) in bounds.items():
        inside = ((actual >= lo) & (actual <= hi))[:-HORIZON]
        for step in range(HORIZON):
            assert abs(inside[:, step].mean() - level) < 0.035, (level, step)


def test_arima_model_intervals_reach_nominal_coverage_on_ar1():
    h = history(ar1(6000, seed=5))
    origins = bt.test_origins(h.bounds, len(h.observed), 1)
    model = Classical(Arima(name="ar1", kind="arima", order=[1, 0, 0], trend="c"), "w")
    fc = bt.historical_forecasts(model, h, origins, HORIZON, [0.8, 0.95], 0)
    scores = bt.scores(h.targets(origins, HORIZON), fc, [0.8, 0.95], 1.0)
    assert abs(scores["coverage_80"] - 0.8) < 0.04  # 1,200 origins: about 2.5 standard errors
    assert abs(scores["coverage_95"] - 0.95) < 0.025


def test_short_validation_falls_back_to_pooled_normalised_widths():
    """13 validation origins cannot give a finite 95 % quantile per step: the widths come
    from the pooled scaled errors, finite and non-decreasing with the step."""
    rng = np.random.default_rng(0)
    errors = rng.normal(0, 1, (13, 12)) * np.sqrt(np.arange(1, 13))
    errors[np.arange(13)[:, None] + np.arange(12) >= 13] = np.nan  # targets past validation
    widths = bt.conformal_widths(errors, 0.95)
    assert np.all(np.isfinite(widths))
    assert np.all(np.diff(widths[-6:]) >= 0)
    assert bt.conformal_quantile(np.arange(1.0, 20.0), 0.95) == 19.0
    assert bt.conformal_quantile(np.arange(1.0, 19.0), 0.95) == math.inf


def test_dm_per_step_on_a_hand_worked_case():
    """Loss differentials d = e_model^2 - e_base^2 = [-3, -1, -3, -1] (n 4, step 2): mean
    -2, gamma0 = 1, gamma1 = -0.75, long-run variance 1 - 1.5 < 0 -> gamma0 = 1;
    DM = -2 / sqrt(1/4) = -4; HLN factor sqrt((4 + 1 - 4 + 2/4) / 4) = sqrt(0.375)."""
    actual = np.zeros(4)
    model = np.array([1.0, 1.0, 1.0, 1.0])
    base = np.array([2.0, math.sqrt(2.0), 2.0, math.sqrt(2.0)])
    stat, p = diebold_mariano(actual, model, base, horizon=2)
    assert stat == pytest.approx(-4 * math.sqrt(0.375))
    verdicts = bt.step_verdicts(
        np.stack([actual, actual], axis=1),
        np.stack([model, model], axis=1),
        {"naive": np.stack([base, base], axis=1), "worse": np.stack([base, base], axis=1) + 5},
        {"naive": {"rmse_by_horizon": [1, 1], "count_by_horizon": [4, 4]},
         "worse": {"rmse_by_horizon": [9, 9], "count_by_horizon": [4, 4]}},
    )  # fmt: skip
    assert [v["baseline"] for v in verdicts] == ["naive", "naive"]
    assert verdicts[1]["statistic"] == pytest.approx(stat)  # step 2: horizon 2
    assert verdicts[0]["statistic"] != pytest.approx(stat)  # step 1: horizon 1
    assert "steps none" in bt.in_words("gru", [{**v, "verdict": "no difference"} for v in verdicts])


def test_hybrid_base_paths_equal_statsmodels_forecasts():
    """classical.paths (one filter, then the state recursion) gives get_forecast's numbers."""
    y = ar1(400, seed=2)
    spec = Arima(name="arma", kind="arima", order=[2, 0, 1], trend="c")
    origins = np.array([250, 300, 398])
    paths = classical.paths(y, origins, 240, spec, 6, "w")
    res = ARIMA(y[:240], order=(2, 0, 1), trend="c").fit()
    for row, origin in enumerate(origins):
        expected = res.apply(y[: origin + 1], refit=False).forecast(6)
        assert np.allclose(paths[row], expected, atol=1e-9)


def test_paths_undo_through_log_and_difference():
    y = np.exp(ar1(200, seed=4) / 50.0)
    t = Transform(log=True, difference=1, scaler="minmax")
    t.fit(y[:, None], slice(0, 120))
    scaled = t.forward(y[:, None])[:, 0]
    origins = np.arange(130, 190)
    path = scaled[origins[:, None] + np.arange(1, 6)]
    back = t.path_to_original(path, y, origins)
    assert np.allclose(back, y[origins[:, None] + np.arange(1, 6)])
    assert np.allclose(t.path_to_model(back, y, origins), path)


def test_scores_carry_the_contract_keys(tmp_path):
    """metrics/backtest/<task>.json: horizon, origins, step and per model rmse_by_horizon
    (H numbers), coverage_80, coverage_95 and mase; step 1 has every origin's target."""
    h = history(ar1(400, seed=6))
    origins = bt.test_origins(h.bounds, len(h.observed), 1)
    actual = h.targets(origins, HORIZON)
    results = {}
    for model in (Naive(), LinearAR(HORIZON)):
        fc = bt.historical_forecasts(model, h, origins, HORIZON, [0.8, 0.95], 1)
        errors = model.predict(h, bt.calibration_origins(h.bounds), HORIZON, []).mean
        errors = errors - bt.held_targets(h, bt.calibration_origins(h.bounds), HORIZON,
                                          h.bounds[1])  # fmt: skip
        fc.bounds = bt.conformal_bounds(fc.mean, errors, [0.8, 0.95])
        results[model.name] = bt.scores(actual, fc, [0.8, 0.95], bt.mase_scale(h.observed, 240,
                                                                                 None))  # fmt: skip
    path = tmp_path / "contract.json"
    path.write_text(json.dumps({"horizon": HORIZON, "origins": len(origins), "step": 1,
                                "models": results}))  # fmt: skip
    data = json.loads(path.read_text())
    assert data["origins"] == len(h.observed) - h.bounds[1]
    for entry in data["models"].values():
        assert len(entry["rmse_by_horizon"]) == HORIZON
        assert entry["count_by_horizon"][0] == data["origins"]
        assert entry["count_by_horizon"][-1] == data["origins"] - HORIZON + 1
        assert 0 <= entry["coverage_80"] <= entry["coverage_95"] <= 1
        assert entry["mase"] > 0
