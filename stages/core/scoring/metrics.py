"""Every metric, by name, in one registry per kind of prediction; and which number decides.

| kind      | metrics (registry)                                     | headline (split)     |
| --------- | ------------------------------------------------------ | -------------------- |
| forecast  | rmse, mae, mape, direction_acc                         | rmse_orig (test)     |
| sentiment | accuracy, roc_auc, f1, log_loss                        | accuracy (test)      |
| charlm    | bits_per_char, accuracy                                | bits_per_char (test) |

Adding a metric: a function `(actual, predicted, last) -> float | None` in FORECAST
(None = not defined for this forecast), or `(y, p) -> float` in CLASSIFICATION; tasks
name extra forecast metrics in `tasks.<task>.extra_metrics`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from stages.core.config import names


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


# What each kind is judged on, {kind: (metric, split, lower is better)}: defined in
# stages/core/config/names.py (import-free, so the params schema can check a target's direction
# too); the report's verdict and the score charts read it from here.
HEADLINE = names.HEADLINE

# Not averaged over seeds: the target count is the same for every seed, and the numpy
# reference gap is a worst case.
_NOT_AVERAGED = {"count": lambda v: v[0], "numpy_max_abs_diff": max}


def over_seeds(per_seed: dict[int, dict[str, dict[str, float]]]) -> dict[str, dict]:
    """Per split: the mean over seeds of every metric, `<metric>_std` and `<metric>_ci95`
    ([low, high], Student t) when there are several seeds, and each seed's own numbers
    under `seeds` ({"42": {metric: value}}), so no single lucky seed can hide."""
    from stages.core.scoring.significance import seed_summary

    out: dict[str, dict] = {}
    splits = {split: None for runs in per_seed.values() for split in runs}
    for split in splits:
        rows = {seed: m[split] for seed, m in per_seed.items() if split in m}
        names = {name: None for m in rows.values() for name in m}
        merged: dict[str, Any] = {}
        for name in names:
            values = [m[name] for m in rows.values() if name in m]
            if name in _NOT_AVERAGED:
                merged[name] = _NOT_AVERAGED[name](values)
                continue
            summary = seed_summary(values)
            merged[name] = summary["mean"]
            if "std" in summary:
                merged[f"{name}_std"], merged[f"{name}_ci95"] = summary["std"], summary["ci95"]
        merged["seeds"] = {str(seed): m for seed, m in rows.items()}
        out[split] = merged
    return out


def best_baseline_name(baselines: dict, kind: str, split: str, count: int | None) -> str | None:
    """The strongest baseline on a split by the kind's headline metric, among those that
    forecast every target the models are scored on (a seasonal baseline that cannot
    reach back for the first targets does not qualify). Character models are scored on
    whole sequences only, a prefix of the held-out text that the n-gram models score in
    full: for them (and for `count` None) the check is skipped, and the bootstrap pairs
    the prefix."""
    metric, _, lower = HEADLINE[kind]
    if kind == "charlm":
        count = None
    scored = {
        name: s[split][metric]
        for name, s in baselines.items()
        if split in s
        and metric in s[split]
        and (count is None or s[split].get("count", count) == count)
    }
    if not scored:
        return None
    return (min if lower else max)(scored, key=scored.get)


def add_verdicts(
    splits: dict, baselines: dict, kind: str, test: Callable[[str, str], dict]
) -> None:
    """`vs_best_baseline` on each split of one model: test(split, baseline name) runs the
    kind's significance test of the seed ensemble against the strongest baseline."""
    for split, m in splits.items():
        best = best_baseline_name(baselines, kind, split, m["count"])
        if best is not None:
            m["vs_best_baseline"] = {"baseline": best, **test(split, best)}


def judge(
    per_seed: dict[int, dict[str, dict]],
    preds: dict[int, dict[str, np.ndarray]],
    combine: Callable[[list[np.ndarray]], np.ndarray],
    baselines: dict,
    kind: str,
    test: Callable[[str, str, np.ndarray], dict],
) -> tuple[dict, dict[str, np.ndarray]]:
    """One model of any kind, the skeleton every evaluate stage shares: its seeds' scores
    summarised (`over_seeds`), the seed ensemble (`combine` of the seeds' predictions per
    split: mean forecast, mean probability, log2 of the mean probability), and on each
    split `vs_best_baseline`, test(split, baseline, ensemble of that split). Returns the
    summary and the ensemble."""
    splits = next(iter(preds.values()))
    ensemble = {split: combine([p[split] for p in preds.values()]) for split in splits}
    summary = over_seeds(per_seed)
    add_verdicts(summary, baselines, kind, lambda split, best: test(split, best, ensemble[split]))
    return summary, ensemble


def best_baseline(metrics: dict, kind: str) -> float:
    """The number a model of this kind has to beat: the best baseline's headline."""
    metric, split, lower = HEADLINE[kind]
    return (min if lower else max)(
        s[split][metric] for s in metrics["baselines"].values() if split in s
    )


def headline(task: str, result: dict, kind: str) -> dict[str, Any]:
    """A task in one row of `dvc metrics show`: the best network (mean over seeds on the
    headline split), the strongest baseline and the significance verdict between them.

    Every task's headline file has the same keys, so DVC prints one narrow table with a
    row per task instead of one line 12,000 characters wide; metrics/<task>.json keeps
    every number.
    """
    metric, split, lower = HEADLINE[kind]
    models = {name: m[split] for name, m in result["models"].items() if split in m}
    best = (min if lower else max)(models, key=lambda name: models[name][metric])
    versus = models[best].get("vs_best_baseline") or {}
    base = versus.get("baseline") or best_baseline_name(
        result["baselines"], kind, split, models[best]["count"]
    )
    return {
        "net": best.removeprefix(f"{task}-"),
        "score": significant(models[best][metric]),
        "baseline": base,
        "base_score": significant(result["baselines"][base][split][metric]) if base else None,
        "verdict": versus.get("verdict", "not tested"),
        "p_value": significant(versus.get("p_value")),
    }


def significant(value: float | None, digits: int = 4) -> float | None:
    """`value` to `digits` significant digits: the precision of the README table, so the
    rows `dvc metrics show` prints stay within 120 columns (its default prints 5 decimals)
    and agree with the table; metrics/<task>.json keeps full precision."""
    if value is None or value == 0 or not math.isfinite(value):
        return value
    return round(value, digits - 1 - math.floor(math.log10(abs(value))))


def headline_path(task: str, metrics_dir) -> Any:
    """metrics/headline/<task>.json: the file `dvc metrics show` lists for the task."""
    return metrics_dir / "headline" / f"{task}.json"
