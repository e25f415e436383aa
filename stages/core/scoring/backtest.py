"""Rolling-origin backtests: every forecaster, baseline or network, judged the same way.

`historical_forecasts` is darts' loop of that name in this project's terms: origins every
`step` rows of the test period, an expanding window, a forecaster re-estimated every
`refit` origins when it estimates anything per origin (the classical models) and never
otherwise (networks keep their weights), H steps forecast from each origin.

Forecasters without intervals of their own get split-conformal ones: the absolute errors
of their forecasts from every validation origin (targets inside validation only), per
step, give the half-width at each level (Vovk et al. 2005; Stankeviciute et al. 2021 for
per-step multi-horizon calibration). When a step has too few validation errors for a
finite quantile (airline: 13 validation months, 2 of them with a 12-step target), its
width is the pooled quantile of errors scaled by each step's RMS error (normalised
conformal, Papadopoulos et al. 2008).

Scores per model: RMSE and MAE per step, MASE (MAE over the in-sample MAE of the seasonal
naive on the training rows, as in M4), and per level the empirical coverage, the mean
width and the Winkler (interval) score. Verdicts: the Diebold-Mariano test with the HLN
correction at each step, with the h-1 autocovariances an h-step error allows, of each
network's seed ensemble against the strongest baseline at that step.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from stages.core.baselines.forecasters import Forecast, Forecaster, History
from stages.core.scoring.significance import compare


def test_origins(bounds: tuple[int, int], n: int, step: int) -> np.ndarray:
    """From the last row before test to the second-to-last row, every `step` rows."""
    return np.arange(bounds[1] - 1, n - 1, step, dtype=np.int64)


def calibration_origins(bounds: tuple[int, int]) -> np.ndarray:
    """Every origin whose first target lies in validation."""
    return np.arange(bounds[0] - 1, bounds[1] - 1, dtype=np.int64)


def historical_forecasts(
    model: Forecaster,
    history: History,
    origins: np.ndarray,
    horizon: int,
    levels: Sequence[float],
    refit: int,
) -> Forecast:
    """Forecasts from each origin; a model that re-estimates (`refits`) is fitted on the
    rows up to the origin every `refit` origins (0: once, before the first)."""
    every = refit if getattr(model, "refits", False) and refit > 0 else len(origins)
    parts = []
    for start in range(0, len(origins), every):
        chunk = origins[start : start + every]
        model.fit(history, int(chunk[0]) + 1)
        parts.append(model.predict(history, chunk, horizon, list(levels)))
    mean = np.concatenate([p.mean for p in parts])
    bounds = {
        lv: (np.concatenate([p.bounds[lv][0] for p in parts]),
             np.concatenate([p.bounds[lv][1] for p in parts]))
        for lv in parts[0].bounds
    }  # fmt: skip
    return Forecast(mean, bounds)


def held_targets(history: History, origins: np.ndarray, horizon: int, stop: int) -> np.ndarray:
    """The observed targets of each origin's H steps, NaN at or after row `stop`."""
    actual = history.targets(origins, horizon)
    rows = origins[:, None] + np.arange(1, horizon + 1)
    return np.where(rows < stop, actual, np.nan)


def conformal_quantile(scores: np.ndarray, level: float) -> float:
    """The split-conformal quantile: the ceil((n + 1) level)-th smallest score, or inf."""
    scores = np.sort(scores[np.isfinite(scores)])
    rank = math.ceil((len(scores) + 1) * level)
    return float(scores[rank - 1]) if rank <= len(scores) else math.inf


def conformal_widths(errors: np.ndarray, level: float) -> np.ndarray:
    """Half-widths per step from validation errors (n, H): per step where finite, else the
    pooled normalised quantile times that step's RMS error (kept non-decreasing)."""
    horizon = errors.shape[1]
    per_step = np.array([conformal_quantile(np.abs(errors[:, h]), level) for h in range(horizon)])
    if np.all(np.isfinite(per_step)):
        return per_step
    rms = np.array(
        [np.sqrt(np.nanmean(errors[:, h] ** 2)) if np.isfinite(errors[:, h]).sum() >= 2
         else np.nan for h in range(horizon)]
    )  # fmt: skip
    rms = np.fmax.accumulate(np.where(np.isfinite(rms), rms, 0.0))
    scale = np.where(rms > 0, rms, np.nan)
    pooled = conformal_quantile((np.abs(errors) / scale).reshape(-1), level)
    return np.where(np.isfinite(per_step), per_step, pooled * rms)


def conformal_bounds(
    mean: np.ndarray, calib_errors: np.ndarray, levels: Sequence[float]
) -> dict[float, tuple[np.ndarray, np.ndarray]]:
    """Symmetric intervals around the point paths from validation errors."""
    out = {}
    for lv in levels:
        half = conformal_widths(calib_errors, lv)[None, :]
        out[lv] = mean - half, mean + half
    return out


def rmse_ci(errors: np.ndarray) -> list[float]:
    """A 95 % interval of an RMSE: the normal interval of the mean squared error, then the
    square root (delta method, no lower bound below 0)."""
    sq = errors[np.isfinite(errors)] ** 2
    if len(sq) < 2:
        return [math.nan, math.nan]
    half = 1.96 * sq.std(ddof=1) / math.sqrt(len(sq))
    return [math.sqrt(max(sq.mean() - half, 0.0)), math.sqrt(sq.mean() + half)]


def winkler(actual, lower, upper, level: float) -> float:
    """The mean interval score (Winkler 1972; Gneiting and Raftery 2007): width plus
    2/alpha times how far the truth falls outside."""
    alpha = 1.0 - level
    below = np.clip(lower - actual, 0, None)
    above = np.clip(actual - upper, 0, None)
    score = (upper - lower) + 2.0 / alpha * (below + above)
    return float(np.nanmean(score))


def mase_scale(observed: np.ndarray, stop: int, season: int | None) -> float:
    """In-sample MAE of the seasonal naive (naive without a season) on rows < stop."""
    lag = int(season or 1)
    part = observed[:stop]
    return float(np.mean(np.abs(part[lag:] - part[:-lag])))


def scores(
    actual: np.ndarray, fc: Forecast, levels: Sequence[float], scale: float
) -> dict[str, object]:
    """Every number of one model's backtest (targets (n, H); NaN where out of range)."""
    err = fc.mean - actual
    ok = np.isfinite(actual) & np.isfinite(fc.mean)
    err = np.where(ok, err, np.nan)
    out: dict[str, object] = {
        "rmse_by_horizon": [float(np.sqrt(np.nanmean(e**2))) for e in err.T],
        "mae_by_horizon": [float(np.nanmean(np.abs(e))) for e in err.T],
        "rmse_ci95_by_horizon": [rmse_ci(e) for e in err.T],
        "count_by_horizon": [int(c) for c in ok.sum(axis=0)],
        "rmse": float(np.sqrt(np.nanmean(err**2))),
        "mae": float(np.nanmean(np.abs(err))),
        "mase": float(np.nanmean(np.abs(err)) / scale),
    }
    for lv in levels:
        lo, hi = fc.bounds[lv]
        inside = (actual >= lo) & (actual <= hi)
        tag = f"{round(lv * 100):d}"
        out[f"coverage_{tag}"] = float(inside[ok].mean())
        out[f"width_{tag}"] = float(np.mean((hi - lo)[ok]))
        out[f"winkler_{tag}"] = winkler(actual[ok], lo[ok], hi[ok], lv)
    return out


def step_verdicts(
    actual: np.ndarray, network: np.ndarray, baselines: dict[str, np.ndarray], results: dict
) -> list[dict]:
    """At each step: the strongest baseline there (lowest RMSE, forecasting every target)
    and the DM-HLN test of the network's ensemble against it, with horizon h."""
    out = []
    for h in range(actual.shape[1]):
        full = max(results[name]["count_by_horizon"][h] for name in baselines)
        candidates = {
            name: results[name]["rmse_by_horizon"][h]
            for name in baselines
            if results[name]["count_by_horizon"][h] == full
        }
        best = min(candidates, key=candidates.get)
        test = compare(
            "forecast", actual=actual[:, h], pred_model=network[:, h],
            pred_base=baselines[best][:, h], horizon=h + 1,
        )  # fmt: skip
        out.append({"step": h + 1, "baseline": best, **test})
    return out


def in_words(network: str, verdicts: list[dict]) -> str:
    """One line: at which steps the network wins, ties or loses."""
    groups: dict[str, list[int]] = {"better": [], "no difference": [], "worse": []}
    for v in verdicts:
        groups[v["verdict"]].append(v["step"])

    def steps(xs: list[int]) -> str:
        return ", ".join(map(str, xs)) if xs else "none"

    return (
        f"{network}: better than the strongest baseline at steps {steps(groups['better'])}; "
        f"no significant difference at {steps(groups['no difference'])}; "
        f"worse at {steps(groups['worse'])} (DM-HLN, alpha 0.05)"
    )
