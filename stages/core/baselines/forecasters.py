"""One forecaster interface for every model a backtest judges, and the baselines behind it.

A forecaster has two operations, as in darts' `ForecastingModel` or statsforecast's models:

    fit(history, stop)                    estimate on rows < stop only
    predict(history, origins, horizon)    steps 1..H from each origin, using rows <= origin

`predict` returns a `Forecast`: the point paths (n, H) in original units and, for models
that have them (ARIMA, ETS), model-based interval bounds per level. A forecaster without
its own intervals gets split-conformal ones from stages/core/scoring/backtest.py, which
runs every forecaster through the same rolling-origin loop: no model has its own path.

The baselines here: naive (persistence), seasonal naive, the training mean, linear AR on
the networks' own windows (direct, one least-squares fit per step), ridge AR and gradient
boosting on lagged features of every input column, and the task's ARIMA / ETS models
(stages/core/baselines/classical.py). The networks are in stages/core/models/forecaster.py.
`registry(task)` builds the baselines a task asks for, by name.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from stages.core.baselines import classical
from stages.core.config.tasks import Task
from stages.core.data.transforms import Transform


@dataclass
class History:
    """What a forecaster may read: the series in original units and in model space."""

    observed: np.ndarray  # (n,) the target in original units
    scaled: np.ndarray  # (n, features) the model-space inputs (scaler fitted on train)
    scaled_target: np.ndarray  # (n,) the model-space target
    transform: Transform
    bounds: tuple[int, int]  # rows where validation and test start
    lookback: int  # rows of the networks' input windows

    def windows(self, origins: np.ndarray, lookback: int | None = None) -> np.ndarray:
        """Input windows ending at each origin (inclusive): (n, lookback, features)."""
        steps = np.arange(-(lookback or self.lookback) + 1, 1)
        return self.scaled[origins[:, None] + steps]

    def targets(self, origins: np.ndarray, horizon: int) -> np.ndarray:
        """The observed values of steps 1..H after each origin (NaN past the end)."""
        idx = origins[:, None] + np.arange(1, horizon + 1)
        inside = idx < len(self.observed)
        return np.where(inside, self.observed[np.minimum(idx, len(self.observed) - 1)], np.nan)


@dataclass
class Forecast:
    """Point paths (n, H) in original units, and {level: (lower, upper)} when the model
    has its own intervals."""

    mean: np.ndarray
    bounds: dict[float, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)


class Forecaster(Protocol):
    """Anything the backtest can judge."""

    name: str

    def fit(self, history: History, stop: int) -> None: ...

    def predict(
        self, history: History, origins: np.ndarray, horizon: int, levels: list[float]
    ) -> Forecast: ...


class Naive:
    """Persistence: every step repeats the value at the origin (the random walk)."""

    name = "naive"

    def fit(self, history: History, stop: int) -> None:
        pass

    def predict(self, history, origins, horizon, levels) -> Forecast:
        return Forecast(np.repeat(history.observed[origins][:, None], horizon, axis=1))


class SeasonalNaive:
    """Step h repeats the value one season before it (`season` rows back, as often as needed)."""

    name = "seasonal_naive"

    def __init__(self, season: int):
        self.season = season

    def fit(self, history: History, stop: int) -> None:
        pass

    def predict(self, history, origins, horizon, levels) -> Forecast:
        h = np.arange(1, horizon + 1)
        back = origins[:, None] + h - self.season * np.ceil(h / self.season).astype(int)
        values = history.observed[np.clip(back, 0, None)]
        return Forecast(np.where(back >= 0, values, np.nan))


class Mean:
    """The mean of the training rows, at every step."""

    name = "mean"

    def fit(self, history: History, stop: int) -> None:
        self.value = float(history.observed[: history.bounds[0]].mean())

    def predict(self, history, origins, horizon, levels) -> Forecast:
        return Forecast(np.full((len(origins), horizon), self.value))


def direct_pairs(history: History, stop: int, horizon: int, first: int) -> np.ndarray:
    """Origins of the training pairs of a direct model: all H targets before `stop`."""
    return np.arange(first, stop - horizon)


class LinearAR:
    """Least squares on the networks' own input windows, one fit per step (direct), in
    model space: what the recurrent non-linearity has to beat."""

    name = "linear_ar"

    def __init__(self, horizon: int):
        self.horizon = horizon

    def fit(self, history: History, stop: int) -> None:
        from sklearn.linear_model import LinearRegression

        first = history.lookback - 1 + history.transform.difference
        origins = direct_pairs(history, history.bounds[0], self.horizon, first)
        x = history.windows(origins).reshape(len(origins), -1)
        y = history.scaled_target[origins[:, None] + np.arange(1, self.horizon + 1)]
        self.model = LinearRegression().fit(x, y)

    def predict(self, history, origins, horizon, levels) -> Forecast:
        x = history.windows(origins).reshape(len(origins), -1)
        path = self.model.predict(x).reshape(len(origins), -1)
        return Forecast(history.transform.path_to_original(path, history.observed, origins))


class Lagged:
    """A regression on lagged features of every input column (`lags` rows, flattened), one
    model per step (direct): ridge AR or gradient-boosted trees (HistGradientBoosting, the
    scikit-learn stand-in for the LightGBM setups that win multivariate benchmarks).
    Fitted on the training rows."""

    def __init__(self, name: str, horizon: int, lags: int):
        self.name, self.horizon, self.lags = name, horizon, lags

    def regressor(self, step: int):
        """Ridge picks its alpha per step by efficient leave-one-out on the training rows
        (one multi-output fit); the trees' settings were chosen on Beijing's validation
        split, sized so 24 of them fit in about a minute on 2 cores."""
        if self.name == "ridge_ar":
            from sklearn.linear_model import RidgeCV

            return RidgeCV(alphas=(0.1, 1.0, 10.0, 100.0, 1000.0), alpha_per_target=True)
        from sklearn.ensemble import HistGradientBoostingRegressor

        return HistGradientBoostingRegressor(
            max_iter=100, learning_rate=0.1, max_leaf_nodes=15, early_stopping=False,
            random_state=step,
        )  # fmt: skip

    def features(self, history: History, origins: np.ndarray) -> np.ndarray:
        return history.windows(origins, self.lags).reshape(len(origins), -1)

    def fit(self, history: History, stop: int) -> None:
        first = self.lags - 1 + history.transform.difference
        origins = direct_pairs(history, history.bounds[0], self.horizon, first)
        x = self.features(history, origins)
        y = history.scaled_target[origins[:, None] + np.arange(1, self.horizon + 1)]
        if self.name == "ridge_ar":
            self.models = [self.regressor(0).fit(x, y)]
        else:
            steps = range(1, self.horizon + 1)
            self.models = [self.regressor(h).fit(x, y[:, h - 1]) for h in steps]

    def predict(self, history, origins, horizon, levels) -> Forecast:
        x = self.features(history, origins)
        path = np.column_stack([m.predict(x) for m in self.models]).reshape(len(origins), -1)
        return Forecast(history.transform.path_to_original(path, history.observed, origins))


class Classical:
    """An ARIMA or ETS entry of `tasks.<task>.classical` (statsmodels), with its own
    intervals. The order or form is chosen once, on the rows before the first fit; every
    `fit` after that re-estimates the parameters from the previous ones (warm start)."""

    def __init__(self, spec: classical.Spec, where: str):
        self.spec, self.where, self.name = spec, where, spec.name
        self.model: classical.Fitted | None = None

    def fit(self, history: History, stop: int) -> None:
        self.model = classical.refit(history.observed, stop, self.spec, self.where, self.model)

    def predict(self, history, origins, horizon, levels) -> Forecast:
        mean, bounds = classical.multi_step(self.model, history.observed, origins, horizon, levels)
        return Forecast(mean, bounds)


def registry(task: Task, where: str) -> list[Forecaster]:
    """The baselines a task asks for, in report order."""
    horizon = int(task.horizon or 1)
    out: list[Forecaster] = []
    if task.target_observed:
        out.append(Naive())
        if task.season:
            out.append(SeasonalNaive(int(task.season)))
    out.append(Mean())
    if "linear_ar" in task.extra_baselines:
        out.append(LinearAR(horizon))
    out.extend(Lagged(name, horizon, task.lags) for name in task.baselines)
    out.extend(Classical(spec, f"{where}.classical") for spec in task.classical)
    return out
