"""Every metric, by name, in one registry per kind of prediction; and which number decides.

| kind      | metrics (registry)                                     | headline (split)     |
| --------- | ------------------------------------------------------ | -------------------- |
| forecast  | rmse, mae, mape, direction_acc                         | rmse_orig (test)     |
| sentiment | accuracy, roc_auc, f1, log_loss                        | accuracy (test)      |
| charlm    | bits_per_char, accuracy                                | bits_per_char (val)  |

Adding a metric: a function `(actual, predicted, last) -> float | None` in FORECAST
(None = not defined for this forecast), or `(y, p) -> float` in CLASSIFICATION; tasks
name extra forecast metrics in `tasks.<task>.extra_metrics`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import numpy as np


def rmse(actual: np.ndarray, predicted: np.ndarray, _last=None) -> float:
    from sklearn.metrics import root_mean_squared_error

    return float(root_mean_squared_error(actual, predicted))


def mae(actual: np.ndarray, predicted: np.ndarray, _last=None) -> float:
    from sklearn.metrics import mean_absolute_error

    return float(mean_absolute_error(actual, predicted))


def mape(actual: np.ndarray, predicted: np.ndarray, _last=None) -> float:
    """Mean absolute percentage error, as a fraction (scikit-learn's definition)."""
    from sklearn.metrics import mean_absolute_percentage_error

    return float(mean_absolute_percentage_error(actual, predicted))


def direction_accuracy(actual: np.ndarray, predicted: np.ndarray, last: np.ndarray) -> float | None:
    """Share of targets where the forecast moves the same way as reality (0.5 = coin toss).

    Forecasts that predict no move at all (the random walk) are left out: they make no
    directional call, so None when no forecast makes one.
    """
    calls = predicted != last
    if not calls.any():
        return None
    same = np.sign(predicted[calls] - last[calls]) == np.sign(actual[calls] - last[calls])
    return float(same.mean())


FORECAST: dict[str, Callable[..., float | None]] = {
    "rmse": rmse,
    "mae": mae,
    "mape": mape,
    "direction_acc": direction_accuracy,
}


def scores(
    actual: np.ndarray,
    predicted: np.ndarray,
    names: Iterable[str] = ("rmse", "mae"),
    last: np.ndarray | None = None,
) -> dict[str, float]:
    """The named forecast metrics over the targets where the forecast exists (not NaN)."""
    ok = np.isfinite(predicted)
    if not ok.any():
        return {}
    last_ok = None if last is None else last[ok]
    out = {}
    for name in names:
        value = FORECAST[name](actual[ok], predicted[ok], last_ok)
        if value is not None:
            out[name] = value
    return out


def classification_scores(y: np.ndarray, p: np.ndarray) -> dict[str, float]:
    """Scikit-learn's metrics on P(positive); the decision threshold is 0.5."""
    from sklearn.metrics import accuracy_score, f1_score, log_loss, roc_auc_score

    p = np.clip(p.astype(np.float64), 1e-7, 1 - 1e-7)
    pred = (p >= 0.5).astype(int)
    return {
        "accuracy": float(accuracy_score(y, pred)),
        "roc_auc": float(roc_auc_score(y, p)),
        "f1": float(f1_score(y, pred)),
        "log_loss": float(log_loss(y, p, labels=[0, 1])),
        "count": len(y),
    }


def charlm_scores(log2p: np.ndarray, correct: np.ndarray) -> dict[str, float]:
    """Bits per character (mean -log2 P(true char)) and next-character accuracy."""
    return {
        "bits_per_char": float(-np.mean(log2p.astype(np.float64))),
        "accuracy": float(np.mean(correct)),
        "count": len(log2p),
    }


# What each kind is judged on: (metric, split, lower is better). The report's verdict and
# the score charts read it.
HEADLINE = {
    "forecast": ("rmse_orig", "test", True),
    "sentiment": ("accuracy", "test", False),
    "charlm": ("bits_per_char", "val", True),
}


def best_baseline(metrics: dict, kind: str) -> float:
    """The number a model of this kind has to beat: the best baseline's headline."""
    metric, split, lower = HEADLINE[kind]
    return (min if lower else max)(s[split][metric] for s in metrics["baselines"].values())
