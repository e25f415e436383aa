"""Baseline forecasts in original units, on exactly the targets the models are scored on.

A recurrent network earns its keep only if it beats these: persistence ("tomorrow is like
today", the random walk of finance), seasonal persistence (one season back), the training
mean and, where a task asks, a linear autoregression on exactly the model's input windows.
"""

from __future__ import annotations

import numpy as np
from sklearn.linear_model import LinearRegression


def naive(observed: np.ndarray, positions: np.ndarray, horizon: int) -> np.ndarray:
    """Last observed value: the target `horizon` steps before each target."""
    return observed[positions - horizon]


def seasonal_naive(observed: np.ndarray, positions: np.ndarray, season: int) -> np.ndarray:
    """The value one season back; NaN where the series does not reach that far."""
    back = positions - season
    return np.where(back >= 0, observed[np.clip(back, 0, None)], np.nan)


def train_mean(observed: np.ndarray, positions: np.ndarray, train_stop: int) -> np.ndarray:
    """The mean of the training part of the series, for every target."""
    return np.full(positions.shape, observed[:train_stop].mean())


def forecasts(
    observed: np.ndarray,
    positions: np.ndarray,
    horizon: int,
    season: int | None,
    train_stop: int,
    target_observed: bool = True,
) -> dict[str, np.ndarray]:
    """Every baseline that applies to the task, by name.

    Naive and seasonal naive read past values of the target, so they only apply when the
    target is an observed series (forecasting); for a mapping task such as sin -> cos the
    model never sees the target and only the training mean is a fair baseline.
    """
    out = {}
    if target_observed:
        out["naive"] = naive(observed, positions, horizon)
        if season:
            out["seasonal_naive"] = seasonal_naive(observed, positions, season)
    out["mean"] = train_mean(observed, positions, train_stop)
    return out


def linear_ar(train_x: np.ndarray, train_y: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Least-squares linear model on the flattened input windows, in model space.

    Same windows and same normalisation as the networks, so the only difference left is
    the recurrent non-linearity: if it cannot beat this, it has learnt nothing linear can't.
    """
    fit = LinearRegression().fit(train_x.reshape(len(train_x), -1), train_y.reshape(-1))
    return fit.predict(x.reshape(len(x), -1))


def reference(task_cfg: dict) -> str:
    """The baseline that `skill` is measured against: naive persistence when it applies."""
    return reference_name(bool(task_cfg.get("target_observed", True)))


def reference_name(target_observed: bool) -> str:
    """naive when the target is an observed series, else the training mean."""
    return "naive" if target_observed else "mean"
