"""prepare: validation errors, split boundaries, scaler fitted on training rows only."""

import json

import numpy as np
import pytest

from stages.core.data.transforms import Transform
from stages.core.io import StageError, load_npz
from stages.prepare import prepare_task
from tests.data import MIRROR

SHARED = MIRROR


def task_cfg(**over):
    cfg = {
        "dataset": "demo",
        "file": "demo.csv",
        "date": "Month",
        "features": ["Value"],
        "target": "Value",
        "split": {"val": 0.6, "test": 0.8},
        "transform": {"scaler": "minmax", "feature_range": [0, 1], "fit_on": "train"},
        "window": {
            "layout": "sliding",
            "lookback": 3,
            "horizon": 1,
            "stride": 1,
            "context": "segment",
        },
    }
    cfg.update(over)
    return cfg


def write_csv(tmp_path, text, name="demo.csv"):
    raw = tmp_path / "raw" / "demo"
    raw.mkdir(parents=True, exist_ok=True)
    (raw / name).write_text(text)
    return tmp_path / "raw"


def months(n, start=2000):
    return [f"{start + i // 12}-{i % 12 + 1:02d}" for i in range(n)]


def good_csv(n=40):
    rows = [f"{m},{v}" for m, v in zip(months(n), np.arange(n) * 2.0 + 5, strict=True)]
    return "Month,Value\n" + "\n".join(rows) + "\n"


def run(tmp_path, text, **over):
    raw = write_csv(tmp_path, text)
    return prepare_task("demo", task_cfg(**over), raw, tmp_path / "prepared")


def test_split_boundaries_follow_the_seeds_int_n_fraction(tmp_path):
    run(tmp_path, good_csv(40))
    meta = json.loads((tmp_path / "prepared/demo/meta.json").read_text())
    assert meta["bounds"] == [24, 32]
    test = load_npz(tmp_path / "prepared/demo/test.npz")
    assert test["positions"].min() >= 32 and test["positions"].max() == 39


def test_scaler_sees_training_rows_only(tmp_path):
    run(tmp_path, good_csv(40))
    series = load_npz(tmp_path / "prepared/demo/series.npz")
    train_part = series["scaled"][:24, 0]
    assert train_part.min() == pytest.approx(0.0) and train_part.max() == pytest.approx(1.0)
    assert series["scaled"][24:, 0].min() > 1.0  # the later rows extrapolate: no leak


def test_fit_on_all_reproduces_the_seed_leak(tmp_path):
    run(tmp_path, good_csv(40), transform={"scaler": "minmax", "fit_on": "all"})
    series = load_npz(tmp_path / "prepared/demo/series.npz")
    assert series["scaled"].max() == pytest.approx(1.0)


@pytest.mark.parametrize(
    "text, message",
    [
        ("Month,Other\n2000-01,1\n", r"missing column\(s\) \['Value'\]"),
        ("Month,Value\n2000-01,1\n2000-02,abc\n", "line 3, column 'Value'.*'abc' is not a finite"),
        ("Month,Value\n2000-01,1\n2000-02,\n", "line 3, column 'Value'.*is empty"),
        ("Month,Value\n2000-01,1\n2000-02,nan\n", "line 3.*not a finite number"),
        ("Month,Value\n2000-02,1\n2000-01,2\n", "line 3, column 'Month'.*out of order"),
        ("Month,Value\n2000-01,1\n2000-01,2\n", "line 3, column 'Month'.*duplicate"),
        ("Month,Value\n2000-01,1\nnot-a-date,2\n", "line 3, column 'Month'.*not a date"),
        ("Month,Value\n", "no data rows"),
    ],
)
def test_bad_csv_gives_one_clear_error_naming_file_and_row(tmp_path, text, message):
    with pytest.raises(StageError, match=message) as err:
        run(tmp_path, text)
    assert "demo.csv" in str(err.value)


def test_missing_file_says_to_run_dvc_repro(tmp_path):
    with pytest.raises(StageError, match="dvc repro"):
        prepare_task("demo", task_cfg(), tmp_path, tmp_path / "out")


def test_a_failed_prepare_leaves_earlier_outputs_intact(tmp_path):
    run(tmp_path, good_csv(40))
    before = (tmp_path / "prepared/demo/train.npz").read_bytes()
    with pytest.raises(StageError):
        run(tmp_path, "Month,Value\n2000-01,1\n2000-02,x\n")
    assert (tmp_path / "prepared/demo/train.npz").read_bytes() == before


def test_multivariate_task_from_params_only(tmp_path):
    rows = [f"{m},{i},{i * 10},{-i}" for i, m in enumerate(months(30))]
    raw = write_csv(tmp_path, "Month,a,b,c\n" + "\n".join(rows) + "\n")
    cfg = task_cfg(
        features=["a", "b"],
        target="c",
        window={"layout": "sliding", "lookback": 4, "stride": 2, "context": "history"},
    )
    counts = prepare_task("demo", cfg, raw, tmp_path / "prepared")
    train = load_npz(tmp_path / "prepared/demo/train.npz")
    assert train["x"].shape[1:] == (4, 2) and counts["test"] == 3


def test_log_difference_transform_round_trips():
    values = np.array([[100.0], [110.0], [121.0], [118.0], [130.0], [140.0]])
    t = Transform.from_params({"log": True, "difference": 1, "scaler": "minmax"}, 0)
    t.fit(values, slice(0, 4))
    scaled = t.forward(values)[:, 0]
    pos = np.arange(1, 6)
    back = t.target_to_original(scaled[pos], values[:, 0], pos)
    np.testing.assert_allclose(back, values[1:, 0])
    np.testing.assert_allclose(t.target_to_model(values[pos, 0], values[:, 0], pos), scaled[pos])


@pytest.mark.skipif(not SHARED.exists(), reason="shared datasets not present")
def test_real_sunspots_test_split_matches_seed_001(tmp_path):
    raw = tmp_path / "raw" / "sunspots"
    raw.mkdir(parents=True)
    (raw / "monthly-sunspots.csv").write_bytes((SHARED / "monthly-sunspots.csv").read_bytes())
    cfg = task_cfg(
        dataset="sunspots",
        file="monthly-sunspots.csv",
        features=["Sunspots"],
        target="Sunspots",
        split={"val": 0.8, "test": 0.8},
        transform={"scaler": "minmax", "fit_on": "all"},
        window={"layout": "sliding", "lookback": 12, "stride": 12},
    )
    counts = prepare_task("sunspots", cfg, tmp_path / "raw", tmp_path / "prepared")
    assert counts == {"train": 187, "val": 0, "test": 46}


def test_stateful_held_out_streams_warm_up_before_scoring():
    from stages.prepare import stateful_splits

    window = {"time_steps": 5, "batch_size": 3, "train_batches": 4, "eval_batches": 2}
    series = np.arange(400.0)
    splits, bounds = stateful_splits(series[:, None], series, {**window, "warmup_batches": 1}, "x")
    x, y, pos, scored = splits["test"]
    assert bounds == ((4 + 2) * 5, (4 + 2) * 5 + 3 * 3 * 5)
    assert scored.tolist() == [False] * 3 + [True] * 6  # first batch of every stream: warm-up
    streams = pos.reshape(3, 3, 5).transpose(1, 0, 2).reshape(3, 15)
    np.testing.assert_array_equal(np.diff(streams, axis=1), 1)  # each stream is continuous
    assert splits["train"][3].all()
    assert stateful_splits(series[:, None], series, window, "x")[0]["test"][3].all()
