"""Dow Jones task (seed 004): date range, Yahoo "null" rows, per-window normalisation,
the seed's sample split, and the finance baselines and metrics on hand-checked numbers."""

import json

import numpy as np
import pytest

from stages.core.baselines import simple as baselines
from stages.core.io import StageError
from stages.core.scoring.metrics import direction_accuracy, scores
from stages.datasets.timeseries import read_csv
from stages.prepare import prepare_task
from tests.data import MIRROR

SHARED_DJI = MIRROR / "DJI.csv"
HEADER = "Date,Open,High,Low,Close,Adj Close,Volume\n"


def yahoo_csv(tmp_path, closes, nulls=(), start="2000-12-27"):
    """A file in Yahoo's layout; rows in `nulls` carry Yahoo's "null" marker."""
    dates = np.datetime_as_string(
        np.busday_offset(np.datetime64(start), np.arange(len(closes)), roll="forward")
    )
    rows = []
    for i, (day, close) in enumerate(zip(dates, closes, strict=True)):
        cells = ["null"] * 6 if i in nulls else [f"{close:.6f}"] * 5 + ["1000"]
        rows.append(",".join([str(day), *cells]))
    path = tmp_path / "raw" / "dji" / "DJI.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(HEADER + "\n".join(rows) + "\n")
    return path


def task_cfg(**over):
    cfg = {
        "dataset": "dji",
        "file": "DJI.csv",
        "date": "Date",
        "features": ["Close"],
        "target": "Close",
        "split": {"val": 0.6, "test": 0.7, "of": "targets"},
        "transform": {"scaler": "none", "window_norm": True},
        "window": {"layout": "sliding", "lookback": 10, "horizon": 1, "context": "history"},
    }
    cfg.update(over)
    return cfg


def seed_generate_seq(data, window_size):
    """Seed 004's generate_seq, verbatim apart from layout."""
    X, Y = [], []
    for i in range(window_size, len(data)):
        X.append(data[i - window_size : i])
        Y.append(data[i])
    return np.array(X), np.array(Y)


def seed_scale(X, Y):
    """Seed 004's per-window scaling, verbatim apart from layout."""
    X_processed, Y_processed = np.copy(X), np.copy(Y)
    for i in range(len(X)):
        x = X[i, -1]
        X_processed[i] /= x
        Y_processed[i] /= x
    return X_processed, Y_processed


def test_date_range_keeps_only_the_requested_days(tmp_path):
    path = yahoo_csv(tmp_path, np.arange(1.0, 21.0))
    frame = read_csv(
        path, "Date", ["Close"], date_range={"start": "2001-01-01", "end": "2001-01-10"}
    )
    assert frame["date"].iloc[0] == "2001-01-01" and frame["date"].iloc[-1] == "2001-01-10"
    assert len(frame) == 8  # business days only
    with pytest.raises(StageError, match=r"DJI\.csv: no rows between 1990-01-01 and 1990-12-31"):
        read_csv(path, "Date", ["Close"], date_range={"start": "1990-01-01", "end": "1990-12-31"})


def test_yahoo_null_rows_fail_clearly_or_are_dropped_and_counted(tmp_path, capsys):
    path = yahoo_csv(tmp_path, np.arange(1.0, 21.0), nulls={4, 9})
    with pytest.raises(StageError, match=r"DJI\.csv: line 6, column 'Close'.*missing: drop"):
        read_csv(path, "Date", ["Close"])
    frame = read_csv(path, "Date", ["Close"], missing="drop")
    assert len(frame) == 18 and 5.0 not in frame["Close"].to_numpy()
    assert "dropped 2 row(s) marked 'null'" in capsys.readouterr().out
    # nulls outside the selected range are never read
    frame = read_csv(path, "Date", ["Close"], date_range={"start": "2001-01-10"})
    assert len(frame) == 10


def test_per_window_normalisation_equals_the_seed_and_inverts(tmp_path):
    closes = 100 * np.exp(np.cumsum(np.random.default_rng(3).normal(0, 0.01, 60)))
    yahoo_csv(tmp_path, closes, start="2001-01-02")
    counts = prepare_task("dji", task_cfg(), tmp_path / "raw", tmp_path / "prep")
    X, Y = seed_generate_seq(closes, 10)
    train_n = int(len(Y) * 0.7)  # the seed's split of samples
    assert counts["test"] == len(Y) - train_n
    sx, sy = seed_scale(X[train_n:], Y[train_n:])
    test = dict(np.load(tmp_path / "prep" / "dji" / "test.npz"))
    np.testing.assert_allclose(test["x"][..., 0], sx, rtol=1e-6)
    np.testing.assert_allclose(test["y"][:, 0], sy, rtol=1e-6)
    from stages.core.data.transforms import Transform

    meta = json.loads((tmp_path / "prep" / "dji" / "meta.json").read_text())
    back = Transform.from_dict(meta["transform"]).target_to_original(
        test["y"][:, 0].astype(np.float64), closes, test["positions"]
    )
    np.testing.assert_allclose(back, Y[train_n:], rtol=1e-6)


def test_window_norm_refuses_non_positive_values(tmp_path):
    yahoo_csv(tmp_path, np.r_[np.arange(1.0, 20.0), 0.0])
    with pytest.raises(StageError, match="window_norm needs positive values"):
        prepare_task("dji", task_cfg(), tmp_path / "raw", tmp_path / "prep")


def test_linear_ar_recovers_an_exactly_linear_series():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(50, 3, 1))
    y = (x[:, :, 0] @ np.array([0.2, -0.5, 1.1]) + 0.3)[:, None]
    np.testing.assert_allclose(baselines.linear_ar(x[:40], y[:40], x[40:]), y[40:, 0], atol=1e-9)


def test_direction_accuracy_and_mape_by_hand():
    last = np.array([10.0, 10.0, 10.0, 10.0])
    actual = np.array([11.0, 9.0, 12.0, 8.0])
    predicted = np.array([10.5, 9.5, 9.0, 10.0])  # right, right, wrong, no call
    assert direction_accuracy(actual, predicted, last) == pytest.approx(2 / 3)
    assert direction_accuracy(actual, last, last) is None  # the random walk makes no call
    got = scores(actual, predicted, ["mape", "direction_acc"], last)
    mape = np.mean(np.abs(actual - predicted) / np.abs(actual))
    assert got == {"mape": pytest.approx(mape), "direction_acc": pytest.approx(2 / 3)}


@pytest.mark.skipif(not SHARED_DJI.exists(), reason=f"needs DJI.csv in {MIRROR} (RNN_DATA_MIRROR)")
def test_real_file_gives_the_seed_protocol(tmp_path):
    raw = tmp_path / "raw" / "dji"
    raw.mkdir(parents=True)
    (raw / "DJI.csv").write_bytes(SHARED_DJI.read_bytes())
    cfg = task_cfg(date_range={"start": "2001-01-01", "end": "2017-12-31"}, missing="drop")
    counts = prepare_task("dji", cfg, tmp_path / "raw", tmp_path / "prep")
    series = np.load(tmp_path / "prep" / "dji" / "series.npz")
    assert len(series["target"]) == 4276 and series["target"][0] == pytest.approx(10646.150391)
    assert counts["train"] + counts["val"] == 2986 and counts["test"] == 1280
    test = np.load(tmp_path / "prep" / "dji" / "test.npz")
    assert series["dates"][test["positions"][0]] == "2012-11-30"
    naive = baselines.naive(series["target"], test["positions"], 1)
    rmse = np.sqrt(np.mean((series["target"][test["positions"]] - naive) ** 2))
    assert rmse == pytest.approx(124.0, abs=0.05)  # the measurement with the seed split
