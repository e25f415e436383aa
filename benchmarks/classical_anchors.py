"""Check the classical baselines against known one-step RMSEs, with timings.

    python -m benchmarks.classical_anchors [data_dir]

`data_dir` holds monthly-sunspots.csv and airline-passengers.csv (default: $RNN_DATA_MIRROR,
else ../shared/datasets). Each line prints the RMSE in original units next to its anchor;
an anchor more than 3 % off is flagged, and the exit status is 1 if any is. ETS rows have
no anchor, they are printed for the record; DJI.csv, when present, is only timed (a
12-order grid on 3,000 fit rows, the size of the project's Dow Jones task).
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from stages.core.baselines import classical

TOLERANCE = 0.03
SUNSPOT_FIT_STOP = 2256
AIRLINE_FIT_STOP = 96

AIRLINE_SPECS = [
    {
        "name": "sarima_011_011_12_log",
        "kind": "arima",
        "order": [0, 1, 1],
        "seasonal_order": [0, 1, 1, 12],
        "log": True,
    },
    {"name": "ets_mul_season", "kind": "ets", "trend": "add", "seasonal": "mul",
     "seasonal_periods": 12},
    {"name": "ets_mul_damped", "kind": "ets", "error": "mul", "trend": "add",
     "damped_trend": True, "seasonal": "mul", "seasonal_periods": 12},
    {"name": "ets_log_aic", "kind": "ets", "search": "aic", "seasonal_periods": 12, "log": True},
]  # fmt: skip
SUNSPOT_SPECS = [
    {"name": "arima_2_1_2", "kind": "arima", "order": [2, 1, 2]},
    {"name": "ar_3", "kind": "arima", "order": [3, 0, 0]},
    {"name": "arima_aic", "kind": "arima", "search": {"p": [0, 3], "d": [0, 1], "q": [0, 2]}},
    {"name": "ets_aic", "kind": "ets", "search": "aic"},
]


DJI_ROWS, DJI_FIT_STOP = 4276, 3000
DJI_SPECS = [
    {"name": "arima_aic_12", "kind": "arima", "search": {"p": [0, 2], "d": [0, 1], "q": [0, 1]}},
    {"name": "ets_aic", "kind": "ets", "search": "aic"},
]


def data_dir(argv: list[str]) -> Path:
    """The first argument, else RNN_DATA_MIRROR, else the shared mirror next to the repo."""
    if argv:
        return Path(argv[0])
    return Path(os.environ.get("RNN_DATA_MIRROR", "../shared/datasets"))


def rmse(actual: np.ndarray, forecast: np.ndarray) -> float:
    return float(np.sqrt(np.mean((forecast - actual) ** 2)))


def report(label: str, value: float, anchor: float | None, seconds: float) -> bool:
    """Print one row; True when the value is within TOLERANCE of its anchor (or has none)."""
    if anchor is None:
        print(f"{label:<62} {value:8.3f}  {'':>8}  {'':>6}  {seconds:6.1f} s")
        return True
    off = value / anchor - 1
    ok = abs(off) <= TOLERANCE
    mark = "" if ok else "  <-- off"
    print(f"{label:<62} {value:8.3f}  {anchor:8.2f}  {off:+6.1%}  {seconds:6.1f} s{mark}")
    return ok


def run(
    series: np.ndarray,
    positions: np.ndarray,
    fit_stop: int,
    specs: list[dict],
    anchors: dict[str, float | None],
    where: str,
) -> bool:
    """Each spec on its own (so each gets its own time), compared with its anchor."""
    ok = True
    for spec in specs:
        start = time.perf_counter()
        pred, info = classical.forecasts(series, positions, fit_stop, [spec], where)[spec["name"]]
        seconds = time.perf_counter() - start
        label = f"{spec['name']} ({classical.describe(info)})"
        ok &= report(label, rmse(series[positions], pred), anchors.get(spec["name"]), seconds)
    return ok


def main(argv: list[str]) -> int:
    root = data_dir(argv)
    airline = pd.read_csv(root / "airline-passengers.csv")["Passengers"].to_numpy(float)
    sunspots = pd.read_csv(root / "monthly-sunspots.csv")["Sunspots"].to_numpy(float)
    print(f"{'baseline':<62} {'rmse':>8}  {'anchor':>8}  {'off':>6}  {'time':>8}")
    ok = True
    for first, anchor in ((97, 13.88), (96, 13.74)):
        positions = np.arange(first, len(airline))
        print(f"-- airline, fit rows :{AIRLINE_FIT_STOP}, targets {first}..{len(airline) - 1}")
        anchors = {"sarima_011_011_12_log": anchor}
        ok &= run(airline, positions, AIRLINE_FIT_STOP, AIRLINE_SPECS, anchors, "airline")
    positions = np.arange(SUNSPOT_FIT_STOP, len(sunspots))
    print(f"-- sunspots, fit rows :{SUNSPOT_FIT_STOP}, targets {positions[0]}..{positions[-1]}")
    naive = sunspots[positions - 1]
    ok &= report("naive persistence", rmse(sunspots[positions], naive), 20.09, 0.0)
    anchors = {"arima_2_1_2": 18.51, "ar_3": 18.93, "arima_aic": 18.23}
    ok &= run(sunspots, positions, SUNSPOT_FIT_STOP, SUNSPOT_SPECS, anchors, "sunspots")
    dji = root / "DJI.csv"
    if dji.exists():  # timing only: the last closes, not necessarily the project's split
        closes = pd.read_csv(dji)["Close"].to_numpy(float)[-DJI_ROWS:]
        positions = np.arange(DJI_FIT_STOP, len(closes))
        print(f"-- DJI last {len(closes)} closes, fit rows :{DJI_FIT_STOP} (timing, no anchor)")
        naive = closes[positions - 1]
        report("naive persistence", rmse(closes[positions], naive), None, 0.0)
        run(closes, positions, DJI_FIT_STOP, DJI_SPECS, {}, "dji")
    print("all anchors reproduced" if ok else "SOME ANCHORS DID NOT REPRODUCE")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
