"""The Beijing PM2.5 study (#24): preparation of the real file with the committed task
params, and lagged-feature baselines that never read a row after their origin."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import yaml

from stages.core.baselines.forecasters import History, Lagged
from stages.core.data.transforms import Transform
from stages.prepare import prepare_series
from tests.data import MIRROR, ROOT

SOURCE = MIRROR / "pollution.csv"
pytestmark = pytest.mark.skipif(not SOURCE.exists(), reason="needs pollution.csv in the mirror")


def task_params() -> dict:
    """tasks.beijing as conf/ composes it (params.yaml of the default profile)."""
    params = yaml.safe_load((ROOT / "params.yaml").read_text(encoding="utf-8"))
    return params["tasks"]["beijing"]


def prepare(tmp_path, capsys, text: str | None = None) -> tuple[dict, dict, str]:
    raw = tmp_path / "raw" / "beijing"
    raw.mkdir(parents=True)
    if text is None:
        shutil.copy(SOURCE, raw / "pollution.csv")
    else:
        (raw / "pollution.csv").write_text(text, encoding="utf-8")
    prepare_series("beijing", task_params(), tmp_path / "raw", tmp_path / "out")
    out = tmp_path / "out" / "beijing"
    meta = json.loads((out / "meta.json").read_text(encoding="utf-8"))
    series = dict(np.load(out / "series.npz", allow_pickle=False))
    return meta, series, capsys.readouterr().out


def test_prepare_interpolates_pm25_and_parses_the_hour(tmp_path, capsys):
    meta, series, log = prepare(tmp_path, capsys)
    assert "column 'pm2.5': 2067 missing cell(s), interpolated" in log
    assert "dropped 24 leading row(s)" in log
    assert len(series["target"]) == 43_824 - 24
    assert np.isfinite(series["target"]).all()
    assert str(series["dates"][0]).startswith("2010-01-02 00:00")
    assert str(series["dates"][-1]).startswith("2014-12-31 23:00")
    hours = np.array([np.datetime64(str(d)) for d in series["dates"]], dtype="datetime64[h]")
    assert np.all(np.diff(hours) == np.timedelta64(1, "h"))  # freq h, no gap
    assert meta["bounds"] == [int(43_800 * 0.6), int(43_800 * 0.8)]


def test_one_hot_columns_come_from_the_training_rows_only(tmp_path, capsys):
    """A wind direction first seen in the test rows gets no column: it reads all zeros."""
    lines = SOURCE.read_text(encoding="utf-8").splitlines()
    header, rows = lines[0], lines[1:]
    for i in range(len(rows) - 100, len(rows)):  # the last 100 hours: inside test
        cells = rows[i].split(",")
        cells[9] = "XX"
        rows[i] = ",".join(cells)
    meta, series, log = prepare(tmp_path, capsys, "\n".join([header, *rows]) + "\n")
    onehot = [c for c in meta["features"] if c.startswith("cbwd=")]
    assert onehot == ["cbwd=NE", "cbwd=NW", "cbwd=SE", "cbwd=cv"]
    assert "100 val/test row(s) hold a category not seen in training (XX): all zeros" in log
    columns = [meta["features"].index(c) for c in onehot]
    assert np.all(series["values"][-100:, columns] == 0)
    assert np.all(series["values"][:-100, columns].sum(axis=1) == 1)


def test_lagged_baselines_see_no_row_after_the_origin():
    """Ridge and gradient boosting on lagged readings of every column: replacing every
    row after an origin, in every column, changes none of the forecasts from it."""
    rng = np.random.default_rng(0)
    n, columns = 600, 4
    values = np.cumsum(rng.normal(size=(n, columns)), axis=0) + 100
    transform = Transform(scaler="standard")
    transform.fit(values, slice(0, 360))
    scaled = transform.forward(values)
    h = History(values[:, 0], scaled, scaled[:, 0], transform, (360, 480), 12)
    origin = 500
    noisy = values.copy()
    noisy[origin + 1 :] = rng.normal(1e3, 1e2, size=(n - origin - 1, columns))
    scaled_noisy = transform.forward(noisy)
    other = History(noisy[:, 0], scaled_noisy, scaled_noisy[:, 0], transform, (360, 480), 12)
    for name in ("ridge_ar", "gradient_boosting"):
        model = Lagged(name, 6, 8)
        model.fit(h, 480)
        first = model.predict(h, np.array([origin]), 6, []).mean
        assert np.array_equal(first, model.predict(other, np.array([origin]), 6, []).mean)
