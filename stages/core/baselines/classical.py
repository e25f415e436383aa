"""Classical statistical baselines (ARIMA, exponential smoothing) scored one step ahead.

A recurrent network that cannot beat a tuned ARIMA has learnt nothing a textbook model
could not, so these sit next to the naive baselines in the evaluation. They are held to
the same rules as the networks: parameters (and the order, when chosen by AIC) come from
observed[:fit_stop] only; the fitted model then filters the later history with those
parameters fixed, and the forecast at position p is the one-step prediction from
observed[:p]. Nothing at or after p, and nothing after fit_stop, can move a parameter.

Each entry of `tasks.<task>.classical` in params.yaml is one baseline:

    - {name: arima_aic, kind: arima, search: {p: [0, 3], d: [0, 1], q: [0, 2]}}
    - {name: arima_2_1_2, kind: arima, order: [2, 1, 2]}
    - {name: sarima_log, kind: arima, order: [0, 1, 1], seasonal_order: [0, 1, 1, 12],
       log: true}
    - {name: ets, kind: ets, trend: add, damped_trend: true, seasonal: mul,
       seasonal_periods: 12}
    - {name: ets_aic, kind: ets, search: aic, seasonal_periods: 12, log: true}
"""

from __future__ import annotations

import itertools
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from statsmodels.tsa.arima.model import ARIMA
from statsmodels.tsa.exponential_smoothing.ets import ETSModel
from threadpoolctl import threadpool_limits

from stages.core.config.tasks import Arima, Classical, Ets
from stages.core.io import StageError

Spec = Arima | Ets

# statsmodels' L-BFGS default of 50 iterations stops the sunspot ARIMA(3,0,2) just short
# of its optimum (converged in 62); 200 lets it finish, and converged fits stop early anyway.
ARIMA_MAXITER = 200
# Numerical failures of one candidate; anything else is a bug and should surface.
FIT_ERRORS = (np.linalg.LinAlgError, ValueError, FloatingPointError, OverflowError)


@contextmanager
def one_blas_thread() -> Iterator[None]:
    """Run BLAS on one thread. The Kalman filter multiplies tiny matrices, where a threaded
    OpenBLAS only spins: on a busy 2-core machine the sunspot grid took 29 s threaded and
    11 s on one thread, the airline SARIMA 4.7 s against 0.2 s. One thread also rules out
    reduction-order differences, which keeps the forecasts bit-identical between runs."""
    with threadpool_limits(limits=1, user_api="blas"):
        yield


@contextmanager
def quiet() -> Iterator[None]:
    """Silence statsmodels' convergence and frequency warnings: a 24-model grid would
    otherwise bury the stage log, and non-convergence is recorded in `info` instead."""
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        yield


def bad(where: str, name: str, problem: str, fix: str) -> StageError:
    """A StageError naming the params key, the problem and the fix."""
    return StageError(f"params.yaml: '{where}' entry '{name}': {problem}. {fix}")


# ---------------------------------------------------------------- specs


def parse(spec: Any, where: str) -> Spec:
    """An entry of `tasks.<task>.classical` as its config object (stages/core/config/tasks.py
    Arima or Ets): the schema's checks and defaults, one StageError naming `where` else."""
    from stages.core.config.schema import validated

    return spec if isinstance(spec, Arima | Ets) else validated(Classical, spec, where)


def arima_grid(spec: Arima) -> list[tuple[int, int, int]]:
    """The (p, d, q) candidates: the fixed `order`, or every order in the inclusive
    `search` ranges."""
    if spec.order is not None:
        return [tuple(spec.order)]
    ranges = [range(lo, hi + 1) for lo, hi in (spec.search.p, spec.search.d, spec.search.q)]
    return list(itertools.product(*ranges))


def ets_forms(spec: Ets) -> list[dict]:
    """The ETS forms to fit: the one spelt out, or with `search: aic` trend {none, add,
    add damped} x seasonal {none, add when seasonal_periods is given}."""
    error, trend, seasonal = spec.error, spec.trend, spec.seasonal
    if spec.search is None:
        return [dict(error=error, trend=trend, damped_trend=spec.damped_trend, seasonal=seasonal)]
    trends = [(None, False), ("add", False), ("add", True)]
    seasons = [None, "add"] if spec.seasonal_periods else [None]
    return [
        dict(error=error, trend=t, damped_trend=d, seasonal=s)
        for (t, d), s in itertools.product(trends, seasons)
    ]


def transform(observed: np.ndarray, log: bool, where: str, name: str) -> np.ndarray:
    """The series the model sees: log(observed) for `log: true`, which needs y > 0."""
    if not log:
        return observed
    if np.any(observed <= 0):
        raise bad(
            where,
            name,
            "'log: true' but the series has values <= 0",
            "Drop 'log' for this task (or use an additive model).",
        )
    return np.log(observed)


# ---------------------------------------------------------------- fitting


def best_by_aic(candidates: list[Any], fit: Callable[[Any], Any]) -> tuple[Any, Any, int, int, int]:
    """Fit every candidate, keep the lowest finite AIC among those that converged.

    Returns (candidate, results, n_failed, n_unconverged, n_fitted). A candidate whose
    optimiser stopped early is skipped, because its AIC is not the model's; only when no
    candidate converged is the best unconverged one used (its info says converged: false)
    rather than failing the stage. Ties go to the first candidate, so the choice is
    deterministic.
    """
    best: tuple[Any, Any] | None = None
    fallback: tuple[Any, Any] | None = None
    failed = unconverged = 0
    for cand in candidates:
        try:
            with quiet():
                res = fit(cand)
        except FIT_ERRORS:
            failed += 1
            continue
        if not np.isfinite(res.aic):
            failed += 1
            continue
        converged = res.mle_retvals.get("converged", True)
        unconverged += not converged
        if converged and (best is None or res.aic < best[1].aic):
            best = cand, res
        if fallback is None or res.aic < fallback[1].aic:
            fallback = cand, res
    chosen = best or fallback or (None, None)
    return *chosen, failed, unconverged, len(candidates) - failed


def arima_select(series: np.ndarray, fit_stop: int, spec: Arima, where: str) -> tuple:
    """(order, results, info) of the ARIMA fitted on series[:fit_stop], the order fixed or
    picked by AIC."""
    name = spec.name
    grid = arima_grid(spec)
    seasonal = tuple(spec.seasonal_order or (0, 0, 0, 0))
    trend = spec.trend

    def fit(order: tuple[int, int, int]) -> Any:
        model = ARIMA(series[:fit_stop], order=order, seasonal_order=seasonal, trend=trend)
        return model.fit(method_kwargs={"maxiter": ARIMA_MAXITER})

    order, res, failed, unconverged, fitted = best_by_aic(grid, fit)
    if res is None:
        raise bad(
            where,
            name,
            f"no ARIMA model could be fitted on the {fit_stop} fit rows "
            f"(orders {grid[0]}..{grid[-1]}, seasonal {list(seasonal)}, trend {trend!r})",
            "Check 'order', 'seasonal_order' and 'trend' (statsmodels allows trend 'c' "
            "only without differencing; use 't' with d = 1).",
        )
    info = {
        "order": list(order),
        "seasonal_order": list(seasonal),
        "trend": res.model.trend,
        "aic": float(res.aic),
        "converged": bool(res.mle_retvals.get("converged", True)),
    }
    if len(grid) > 1:
        info.update(candidates=len(grid), fitted=fitted, failed=failed, unconverged=unconverged)
    return order, res, info


def arima_baseline(
    series: np.ndarray, positions: np.ndarray, fit_stop: int, spec: Arima, where: str
) -> tuple[np.ndarray, dict]:
    """ARIMA / SARIMA (statsmodels state space), order fixed or picked by AIC on the fit rows.

    The model with the fitted parameters is re-applied to the series up to the last target
    (`results.apply(..., refit=False)`, a Kalman filter, no estimation), and its in-sample
    one-step predictions are read at `positions`: prediction p uses rows < p only.
    """
    _, res, info = arima_select(series, fit_stop, spec, where)
    with quiet():
        pred = res.apply(series[: positions[-1] + 1], refit=False).fittedvalues
    return np.asarray(pred)[positions], info


def ets_model(endog: np.ndarray, form: dict, periods: int | None) -> ETSModel:
    """The ETS model of one form on `endog`."""
    return ETSModel(endog, seasonal_periods=periods if form["seasonal"] else None, **form)


def ets_select(series: np.ndarray, fit_stop: int, spec: Ets, where: str) -> tuple:
    """(form, results, info) of the ETS fitted on series[:fit_stop], the form fixed or
    picked by AIC."""
    forms = ets_forms(spec)
    periods = spec.seasonal_periods

    def fit(form: dict) -> Any:
        return ets_model(series[:fit_stop], form, periods).fit(disp=False)

    form, res, failed, unconverged, fitted = best_by_aic(forms, fit)
    if res is None:
        raise bad(
            where,
            spec.name,
            f"no ETS model could be fitted on the {fit_stop} fit rows ({forms})",
            "Multiplicative error or season needs a positive series and at least two "
            "full seasons of fit rows; check 'seasonal_periods'.",
        )
    info = {**form, "seasonal_periods": periods if form["seasonal"] else None}
    info.update(aic=float(res.aic), converged=bool(res.mle_retvals.get("converged", True)))
    if len(forms) > 1:
        info.update(candidates=len(forms), fitted=fitted, failed=failed, unconverged=unconverged)
    return form, res, info


def ets_baseline(
    series: np.ndarray, positions: np.ndarray, fit_stop: int, spec: Ets, where: str
) -> tuple[np.ndarray, dict]:
    """Exponential smoothing as a state-space model (statsmodels ETSModel).

    Smoothing parameters and initial states are estimated on the fit rows; a model on the
    longer series then runs the same recursions with those parameters (`smooth(params)`,
    no estimation) and its fitted values are the one-step predictions from rows < p.
    """
    form, res, info = ets_select(series, fit_stop, spec, where)
    model = ets_model(series[: positions[-1] + 1], form, spec.seasonal_periods)
    with quiet():
        pred = model.smooth(res.params).fittedvalues
    return np.asarray(pred)[positions], info


KINDS = {"arima": arima_baseline, "ets": ets_baseline}


def check_inputs(observed: np.ndarray, positions: np.ndarray, fit_stop: int) -> None:
    """Guard the leakage contract: every target after the fit rows, in order, in range."""
    if positions.ndim != 1 or len(positions) == 0:
        raise ValueError("positions must be a non-empty 1-D array")
    if np.any(np.diff(positions) <= 0):
        raise ValueError("positions must be sorted and unique")
    if positions[0] < fit_stop or positions[-1] >= len(observed):
        raise ValueError(
            f"positions must lie in [fit_stop={fit_stop}, {len(observed)}), "
            f"got {positions[0]}..{positions[-1]}"
        )


def forecast(
    observed: np.ndarray, positions: np.ndarray, fit_stop: int, spec: Spec, where: str
) -> tuple[np.ndarray, dict]:
    """One classical model's one-step forecasts at sorted `positions` (original units,
    float64), parameters estimated on observed[:fit_stop] only, and its `info`."""
    series = transform(observed[: positions[-1] + 1], spec.log, where, spec.name)
    with one_blas_thread():
        pred, info = KINDS[spec.kind](series, positions, fit_stop, spec, where)
    if spec.log:
        pred = np.exp(pred)
    info.update(kind=spec.kind, log=spec.log, fit_rows=int(fit_stop))
    return np.asarray(pred, dtype=np.float64), info


def forecasts(
    observed: np.ndarray,
    positions: np.ndarray,
    fit_stop: int,
    specs: list,
    where: str,
) -> dict[str, tuple[np.ndarray, dict]]:
    """Every classical baseline in `specs`: name -> (forecasts at `positions`, info).

    Forecasts are float64 in original units. With `log: true` the model sees log(observed)
    and the forecast is exp of the one-step mean, i.e. the conditional median, not the mean
    (no lognormal bias correction): that is the usual airline-model convention and it is
    what RMSE anchors in the literature use. `info` is JSON-serialisable: the chosen order
    or form, its AIC on the fit rows, `fit_rows`, and for searches how many candidates
    failed or stopped before converging.
    """
    observed = np.asarray(observed, dtype=np.float64)
    positions = np.asarray(positions, dtype=np.int64)
    check_inputs(observed, positions, fit_stop)
    out: dict[str, tuple[np.ndarray, dict]] = {}
    for i, entry in enumerate(specs):
        spec = parse(entry, f"{where}[{i}]")
        start = time.perf_counter()
        out[spec.name] = forecast(observed, positions, fit_stop, spec, where)
        seconds = time.perf_counter() - start
        line = f"  classical {spec.name}: {describe(out[spec.name][1])}, {seconds:.1f} s"
        print(line, flush=True)
    return out


def describe(info: dict) -> str:
    """One short line for the stage log: the chosen model and its AIC."""
    if info["kind"] == "arima":
        model = f"ARIMA{tuple(info['order'])}"
        if any(info["seasonal_order"]):
            model += f"x{tuple(info['seasonal_order'])}"
    else:
        parts = [info["error"], info["trend"] or "none", info["seasonal"] or "none"]
        model = "ETS(" + ",".join(p[0].upper() for p in parts) + ")"
        if info["damped_trend"]:
            model = model.replace(",A,", ",Ad,", 1)
    log = " on log" if info["log"] else ""
    searched = f" of {info['candidates']}" if "candidates" in info else ""
    return f"{model}{log}{searched}, AIC {info['aic']:.1f}"


# ---------------------------------------------------------------- multi-step (backtests)


@dataclass
class Fitted:
    """A classical model fitted for multi-step forecasts: its spec, the chosen order or
    form, the statsmodels results and the number of rows it was estimated on."""

    spec: Spec
    choice: Any  # the ARIMA order or the ETS form
    results: Any
    rows: int
    info: dict


def refit(
    observed: np.ndarray, stop: int, spec: Spec, where: str, previous: Fitted | None = None
) -> Fitted:
    """Estimate on observed[:stop]. The first call chooses the order or form (AIC over the
    task's search); later calls keep that choice and re-estimate the parameters, starting
    from the previous ones, so a backtest's refits are quick and land on the same optimum
    wherever they run."""
    series = transform(np.asarray(observed, dtype=np.float64)[:stop], spec.log, where, spec.name)
    with one_blas_thread(), quiet():
        if previous is None:
            select = arima_select if spec.kind == "arima" else ets_select
            choice, res, info = select(series, stop, spec, where)
            return Fitted(spec, choice, res, stop, info)
        if spec.kind == "arima":
            model = ARIMA(
                series, order=previous.choice, seasonal_order=previous.results.model.seasonal_order,
                trend=spec.trend,
            )  # fmt: skip
            res = model.fit(
                start_params=previous.results.params, method_kwargs={"maxiter": ARIMA_MAXITER}
            )
        else:
            model = ets_model(series, previous.choice, spec.seasonal_periods)
            res = model.fit(start_params=previous.results.params, disp=False)
    if not np.all(np.isfinite(res.params)):
        res = previous.results  # a failed refit keeps the last good parameters
    return Fitted(spec, previous.choice, res, stop, previous.info)


def multi_step(
    fitted: Fitted, observed: np.ndarray, origins: np.ndarray, horizon: int, levels: list[float]
) -> tuple[np.ndarray, dict[float, tuple[np.ndarray, np.ndarray]]]:
    """Forecasts of steps 1..H from each origin with the fitted parameters held fixed (the
    model filtered over observed[:origin + 1], nothing later), with the model's own
    prediction intervals per level; a log model's are exp of the log-scale ones."""
    spec = fitted.spec
    series = transform(np.asarray(observed, dtype=np.float64), spec.log, "", spec.name)
    mean = np.empty((len(origins), horizon))
    bounds = {lv: (np.empty_like(mean), np.empty_like(mean)) for lv in levels}
    with one_blas_thread(), quiet():
        for i, origin in enumerate(origins.tolist()):
            frame = forecast_frame(fitted, series[: origin + 1], horizon, levels)
            mean[i] = frame["mean"]
            for lv in levels:
                bounds[lv][0][i], bounds[lv][1][i] = frame[lv]
    if spec.log:
        mean = np.exp(mean)
        bounds = {lv: (np.exp(lo), np.exp(hi)) for lv, (lo, hi) in bounds.items()}
    return mean, bounds


def forecast_frame(fitted: Fitted, history: np.ndarray, horizon: int, levels) -> dict:
    """{mean, level: (lower, upper)} of one H-step forecast from the end of `history`."""
    out: dict[Any, Any] = {}
    if fitted.spec.kind == "arima":
        fc = fitted.results.apply(history, refit=False).get_forecast(horizon)
        out["mean"] = np.asarray(fc.predicted_mean)
        for lv in levels:
            ci = np.asarray(fc.conf_int(alpha=1 - lv))
            out[lv] = ci[:, 0], ci[:, 1]
        return out
    # a pandas endog: statsmodels' ETS prediction results need an index to label rows
    model = ets_model(pd.Series(history), fitted.choice, fitted.spec.seasonal_periods)
    res = model.smooth(fitted.results.params)
    n = len(history)
    pred = res.get_prediction(start=n, end=n + horizon - 1, rng=0)  # simulated: seeded
    out["mean"] = np.asarray(pred.predicted_mean)
    for lv in levels:
        frame = pred.summary_frame(alpha=1 - lv)
        out[lv] = frame["pi_lower"].to_numpy(), frame["pi_upper"].to_numpy()
    return out


def paths(
    observed: np.ndarray, origins: np.ndarray, fit_stop: int, spec: Spec, horizon: int, where: str
) -> np.ndarray:
    """(n, H) forecasts in original units from every origin, parameters estimated on
    observed[:fit_stop] only: a direct hybrid's base. One Kalman filter over the series,
    then the state-space recursion a(t+1) = c + T a(t), y = d + Z a from each origin's
    filtered state (what `get_forecast` computes, for all origins at once). ARIMA only."""
    if spec.kind != "arima":
        raise bad(where, spec.name, "a multi-step hybrid needs an ARIMA base", "Use arima.")
    series = transform(np.asarray(observed, dtype=np.float64), spec.log, where, spec.name)
    with one_blas_thread(), quiet():
        _, res, _ = arima_select(series, fit_stop, spec, where)
        full = res.apply(series[: int(origins.max()) + 1], refit=False)
    ssm = full.model.ssm
    design, transition = np.atleast_2d(ssm["design"]), np.asarray(ssm["transition"])
    state_c, obs_d = np.asarray(ssm["state_intercept"]), np.asarray(ssm["obs_intercept"])
    if transition.ndim == 3 or np.ptp(obs_d) > 0 or state_c.ndim == 2 and np.ptp(state_c) > 0:
        raise bad(where, spec.name, "a time-varying trend", "Use trend c or none.")
    state_c = state_c[:, 0] if state_c.ndim == 2 else state_c
    state = full.filter_results.filtered_state[:, origins]
    out = np.empty((len(origins), horizon))
    for h in range(horizon):
        state = transition @ state + state_c[:, None]
        out[:, h] = (design @ state)[0] + obs_d.reshape(-1)[0]
    return np.exp(out) if spec.log else out
