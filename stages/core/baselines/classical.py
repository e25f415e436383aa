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
from typing import Any

import numpy as np
from statsmodels.tsa.arima.model import ARIMA
from statsmodels.tsa.exponential_smoothing.ets import ETSModel
from threadpoolctl import threadpool_limits

from stages.core.io import StageError

ARIMA_KEYS = {"name", "kind", "order", "search", "seasonal_order", "trend", "log"}
ETS_KEYS = {
    "name",
    "kind",
    "error",
    "trend",
    "damped_trend",
    "seasonal",
    "seasonal_periods",
    "log",
    "search",
}
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


# ---------------------------------------------------------------- spec validation


def check_keys(spec: dict, allowed: set[str], where: str, name: str) -> None:
    """Reject unknown keys: a misspelt `seasonal_order` would otherwise be ignored."""
    unknown = sorted(set(spec) - allowed)
    if unknown:
        raise bad(
            where,
            name,
            f"unknown key(s) {unknown}",
            f"Use only {sorted(allowed)}.",
        )


def int_list(value: Any, length: int, key: str, where: str, name: str) -> list[int]:
    """A list of `length` non-negative integers, e.g. an ARIMA order."""
    ok = (
        isinstance(value, list | tuple)
        and len(value) == length
        and all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in value)
    )
    if not ok:
        raise bad(
            where,
            name,
            f"'{key}' is {value!r}",
            f"Give a list of {length} non-negative integers.",
        )
    return [int(v) for v in value]


def flag(spec: dict, key: str, where: str, name: str) -> bool:
    """An optional boolean (default false); a string such as 'yes' is an error, not True."""
    value = spec.get(key, False)
    if value is None:
        return False
    if not isinstance(value, bool):
        raise bad(where, name, f"'{key}' is {value!r}", "Use true or false.")
    return value


def arima_grid(spec: dict, where: str, name: str) -> list[tuple[int, int, int]]:
    """The (p, d, q) candidates: the fixed `order`, or every order in the inclusive
    `search` ranges."""
    if ("order" in spec) == ("search" in spec):
        raise bad(
            where,
            name,
            "an arima entry needs exactly one of 'order' and 'search'",
            "Give order: [p, d, q] or search: {p: [lo, hi], d: [lo, hi], q: [lo, hi]}.",
        )
    if "order" in spec:
        return [tuple(int_list(spec["order"], 3, "order", where, name))]
    search = spec["search"]
    if not isinstance(search, dict) or set(search) != {"p", "d", "q"}:
        raise bad(
            where,
            name,
            f"'search' is {search!r}",
            "Give search: {p: [lo, hi], d: [lo, hi], q: [lo, hi]} (inclusive ranges).",
        )
    ranges = []
    for key in ("p", "d", "q"):
        lo, hi = int_list(search[key], 2, f"search.{key}", where, name)
        if lo > hi:
            raise bad(where, name, f"'search.{key}' is [{lo}, {hi}]", "Put the low end first.")
        ranges.append(range(lo, hi + 1))
    return list(itertools.product(*ranges))


def ets_forms(spec: dict, where: str, name: str) -> list[dict]:
    """The ETS forms to fit: the one spelt out, or with `search: aic` trend {none, add,
    add damped} x seasonal {none, add when seasonal_periods is given}."""
    error = spec.get("error", "add")
    trend, seasonal = spec.get("trend"), spec.get("seasonal")
    periods = spec.get("seasonal_periods")
    if error not in ("add", "mul"):
        raise bad(where, name, f"'error' is {error!r}", "Use add or mul.")
    if trend not in (None, "add"):
        raise bad(where, name, f"'trend' is {trend!r}", "Use add or null.")
    if seasonal not in (None, "add", "mul"):
        raise bad(where, name, f"'seasonal' is {seasonal!r}", "Use add, mul or null.")
    if periods is not None and not (isinstance(periods, int) and periods >= 2):
        raise bad(where, name, f"'seasonal_periods' is {periods!r}", "Use an integer >= 2.")
    if seasonal and periods is None:
        raise bad(where, name, "'seasonal' needs 'seasonal_periods'", "Add e.g. 12 for months.")
    damped = flag(spec, "damped_trend", where, name)
    if damped and trend is None:
        raise bad(where, name, "'damped_trend' needs a trend", "Set trend: add.")
    search = spec.get("search")
    if search is None:
        return [dict(error=error, trend=trend, damped_trend=damped, seasonal=seasonal)]
    if search != "aic":
        raise bad(where, name, f"'search' is {search!r}", "Use search: aic or leave it out.")
    trends = [(None, False), ("add", False), ("add", True)]
    seasons = [None, "add"] if periods else [None]
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


def arima_baseline(
    series: np.ndarray, positions: np.ndarray, fit_stop: int, spec: dict, where: str
) -> tuple[np.ndarray, dict]:
    """ARIMA / SARIMA (statsmodels state space), order fixed or picked by AIC on the fit rows.

    The model with the fitted parameters is re-applied to the series up to the last target
    (`results.apply(..., refit=False)`, a Kalman filter, no estimation), and its in-sample
    one-step predictions are read at `positions`: prediction p uses rows < p only.
    """
    name = spec["name"]
    grid = arima_grid(spec, where, name)
    seasonal = tuple(
        int_list(spec.get("seasonal_order", [0, 0, 0, 0]), 4, "seasonal_order", where, name)
    )
    trend = spec.get("trend")

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
    with quiet():
        pred = res.apply(series[: positions[-1] + 1], refit=False).fittedvalues
    info = {
        "order": list(order),
        "seasonal_order": list(seasonal),
        "trend": res.model.trend,
        "aic": float(res.aic),
        "converged": bool(res.mle_retvals.get("converged", True)),
    }
    if len(grid) > 1:
        info.update(candidates=len(grid), fitted=fitted, failed=failed, unconverged=unconverged)
    return np.asarray(pred)[positions], info


def ets_baseline(
    series: np.ndarray, positions: np.ndarray, fit_stop: int, spec: dict, where: str
) -> tuple[np.ndarray, dict]:
    """Exponential smoothing as a state-space model (statsmodels ETSModel).

    Smoothing parameters and initial states are estimated on the fit rows; a model on the
    longer series then runs the same recursions with those parameters (`smooth(params)`,
    no estimation) and its fitted values are the one-step predictions from rows < p.
    """
    name = spec["name"]
    forms = ets_forms(spec, where, name)
    periods = spec.get("seasonal_periods")

    def model(endog: np.ndarray, form: dict) -> ETSModel:
        return ETSModel(endog, seasonal_periods=periods if form["seasonal"] else None, **form)

    def fit(form: dict) -> Any:
        return model(series[:fit_stop], form).fit(disp=False)

    form, res, failed, unconverged, fitted = best_by_aic(forms, fit)
    if res is None:
        raise bad(
            where,
            name,
            f"no ETS model could be fitted on the {fit_stop} fit rows ({forms})",
            "Multiplicative error or season needs a positive series and at least two "
            "full seasons of fit rows; check 'seasonal_periods'.",
        )
    with quiet():
        pred = model(series[: positions[-1] + 1], form).smooth(res.params).fittedvalues
    info = {**form, "seasonal_periods": periods if form["seasonal"] else None}
    info.update(aic=float(res.aic), converged=bool(res.mle_retvals.get("converged", True)))
    if len(forms) > 1:
        info.update(candidates=len(forms), fitted=fitted, failed=failed, unconverged=unconverged)
    return np.asarray(pred)[positions], info


KINDS = {"arima": (arima_baseline, ARIMA_KEYS), "ets": (ets_baseline, ETS_KEYS)}


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


def forecasts(
    observed: np.ndarray,
    positions: np.ndarray,
    fit_stop: int,
    specs: list[dict],
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
    if not isinstance(specs, list):
        raise StageError(f"params.yaml: '{where}' must be a list of entries, got {specs!r}.")
    out: dict[str, tuple[np.ndarray, dict]] = {}
    for i, spec in enumerate(specs):
        name = spec.get("name") if isinstance(spec, dict) else None
        if not isinstance(name, str) or not name:
            raise StageError(
                f"params.yaml: '{where}[{i}]' has no 'name'. "
                "Give every entry a name and a kind (arima or ets)."
            )
        if name in out:
            raise bad(where, name, "the name is used twice", "Give each entry its own name.")
        kind = spec.get("kind")
        if kind not in KINDS:
            raise bad(where, name, f"'kind' is {kind!r}", f"Use one of {sorted(KINDS)}.")
        baseline, allowed = KINDS[kind]
        check_keys(spec, allowed, where, name)
        log = flag(spec, "log", where, name)
        series = transform(observed[: positions[-1] + 1], log, where, name)
        start = time.perf_counter()
        with one_blas_thread():
            pred, info = baseline(series, positions, fit_stop, spec, where)
        if log:
            pred = np.exp(pred)
        info.update(kind=kind, log=log, fit_rows=int(fit_stop))
        seconds = time.perf_counter() - start
        print(f"  classical {name}: {describe(info)}, {seconds:.1f} s", flush=True)
        out[name] = (np.asarray(pred, dtype=np.float64), info)
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
