"""End to end (#13): a real-world-shaped CSV that no code knows about, run through params
alone: download (from a mirror, sha256-checked), prepare, train and evaluate.

The file has the layout of the UCI Beijing PM2.5 hourly data (year, month, day, hour
columns, "NA" in pm2.5, leading NAs, cbwd a wind-direction string). It is generated here;
the stages run as their real command lines (`python -m stages.<stage> <key>`) in a
throwaway working directory, which is what `dvc repro` would run, minus DVC's bookkeeping.
"""

import hashlib
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

from stages.core.io import load_npz

pytestmark = pytest.mark.pipeline  # prepare, train and evaluate run as subprocesses

ROOT = Path(__file__).resolve().parents[1]
HEADER = "No,year,month,day,hour,pm2.5,DEWP,TEMP,PRES,cbwd,Iws,Is,Ir"
ROWS = 480  # 20 days, hourly
WINDS = np.array(["NW", "NE", "SE", "cv"])


def air_quality_csv(path: Path) -> None:
    """Hourly rows from 2010-01-01 00:00; ~4 % NA in pm2.5, the first 3 rows NA too."""
    rng = np.random.default_rng(7)
    hours = np.arange(ROWS)
    pm = 80 + 40 * np.sin(2 * np.pi * hours / 24) + rng.normal(0, 10, ROWS).cumsum() * 0.3
    pm = np.abs(pm).round()
    missing = rng.random(ROWS) < 0.04
    missing[:3] = True
    wind = WINDS[rng.integers(0, 4, ROWS)]
    lines = [HEADER]
    for i in hours:
        day, hour = divmod(int(i), 24)
        cells = [
            i + 1, 2010, 1, day + 1, hour, "NA" if missing[i] else int(pm[i]),
            -20 + int(rng.integers(0, 10)), round(-5 + 5 * math.sin(i / 24), 1),
            1020 + int(rng.integers(-5, 5)), wind[i], round(rng.random() * 20, 2), 0, 0,
        ]
        lines.append(",".join(map(str, cells)))
    path.write_text("\n".join(lines) + "\n")


def params(sha256: str) -> dict:
    """Only what the four stages read: one dataset, one task, one variant, one run."""
    return {
        "seed": 42,
        "seeds": [42],
        "datasets": {
            "beijing": {"files": [{"name": "PRSA_data.csv", "sha256": sha256, "urls": []}]}
        },
        "tasks": {
            "pm25": {
                "title": "Beijing PM2.5, 1 h ahead",
                "units": "ug/m3",
                "dataset": "beijing",
                "file": "PRSA_data.csv",
                "date": ["year", "month", "day", "hour"],
                "freq": "h",
                "missing": {"policy": "interpolate"},
                "categorical": ["cbwd"],
                "features": ["pm2.5", "DEWP", "TEMP", "cbwd"],
                "target": "pm2.5",
                "split": {"val": 0.7, "test": 0.85},
                "transform": {"scaler": "standard", "fit_on": "train"},
                "window": {"layout": "sliding", "lookback": 24, "horizon": 1,
                           "stride": 1, "context": "history"},
                "season": 24,
            }
        },
        "variants": {
            "pm25-gru": {
                "task": "pm25",
                "model": {"layers": [{"type": "gru", "units": 4}],
                          "head": {"units": 1, "activation": "linear"}},
                "train": {"optimizer": "adam", "learning_rate": 0.01, "loss": "mse",
                          "epochs": 1, "batch_size": 32},
            }
        },
        "runs": {"pm25-gru-s42": {"variant": "pm25-gru", "task": "pm25", "seed": 42}},
    }


def stage(module: str, key: str, cwd: Path, env: dict) -> str:
    proc = subprocess.run(
        [sys.executable, "-m", f"stages.{module}", key],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, f"stages.{module} {key} failed:\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout + proc.stderr


def test_an_air_quality_csv_runs_through_params_alone(tmp_path):
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    csv = mirror / "PRSA_data.csv"
    air_quality_csv(csv)
    work = tmp_path / "work"
    work.mkdir()
    sha = hashlib.sha256(csv.read_bytes()).hexdigest()
    (work / "params.yaml").write_text(yaml.safe_dump(params(sha), sort_keys=False))
    env = dict(os.environ, RNN_DATA_MIRROR=str(mirror), PYTHONPATH=str(ROOT))
    env.update(TF_CPP_MIN_LOG_LEVEL="2", PYTHONDONTWRITEBYTECODE="1")

    stage("download", "beijing", work, env)
    assert (work / "data/raw/beijing/PRSA_data.csv").read_bytes() == csv.read_bytes()
    out = stage("prepare", "pm25", work, env)
    assert "column 'pm2.5':" in out and "interpolated" in out and "leading row(s)" in out
    meta = json.loads((work / "data/prepared/pm25/meta.json").read_text())
    assert meta["features"][:3] == ["pm2.5", "DEWP", "TEMP"]
    assert meta["features"][3:] == [f"cbwd={w}" for w in sorted(WINDS)]
    series = load_npz(work / "data/prepared/pm25/series.npz")
    assert series["dates"][0] == "2010-01-01 03:00:00"  # three leading NAs dropped
    assert np.isfinite(series["values"]).all() and len(series["target"]) == ROWS - 3
    train = load_npz(work / "data/prepared/pm25/train.npz")
    assert train["x"].shape[1:] == (24, 7)

    stage("train", "pm25-gru-s42", work, env)
    stage("evaluate", "pm25", work, env)
    metrics = json.loads((work / "metrics/pm25.json").read_text())
    test = metrics["models"]["pm25-gru"]["test"]
    assert math.isfinite(test["rmse_orig"]) and test["numpy_max_abs_diff"] <= 1e-5
    assert set(metrics["baselines"]) == {"naive", "seasonal_naive", "mean"}  # season: 24
    assert (work / "plots/pm25/predictions.csv").stat().st_size > 0

