"""Time-series CSV options (#13): composite dates, date_format, missing-value policies,
span_gaps, categorical one-hot columns and freq gap checks, all through params alone."""

import json

import numpy as np
import pytest

from stages.core.io import StageError, load_npz
from stages.core.models.layouts import restrided
from stages.datasets.timeseries import Missing, read_csv
from stages.prepare import prepare_task

HOURS = 40


def task_cfg(**over):
    cfg = {
        "dataset": "demo",
        "file": "demo.csv",
        "date": ["year", "month", "day", "hour"],
        "features": ["v"],
        "target": "v",
        "split": {"val": 0.6, "test": 0.8},
        "transform": {"scaler": "minmax", "fit_on": "train"},
        "window": {"layout": "sliding", "lookback": 3, "horizon": 1, "context": "history"},
    }
    cfg.update(over)
    return cfg


def hourly_csv(tmp_path, values, extra=None, skip=()):
    """year,month,day,hour,v[,extra columns]: hourly from 2010-01-01 00:00, `skip` rows
    left out of the file (a timestamp gap)."""
    names = list(extra or {})
    lines = [",".join(["year", "month", "day", "hour", "v", *names])]
    for i, value in enumerate(values):
        if i in skip:
            continue
        day, hour = divmod(i, 24)
        cells = ["2010", "1", str(day + 1), str(hour), str(value)]
        lines.append(",".join(cells + [str(extra[n][i]) for n in names]))
    path = tmp_path / "raw" / "demo" / "demo.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")
    return path


def prepare(tmp_path, **over):
    counts = prepare_task("demo", task_cfg(**over), tmp_path / "raw", tmp_path / "out")
    out = tmp_path / "out" / "demo"
    meta = json.loads((out / "meta.json").read_text())
    return counts, load_npz(out / "series.npz"), meta


def test_composite_date_builds_one_timestamp_per_row(tmp_path):
    hourly_csv(tmp_path, np.arange(HOURS))
    _, series, _ = prepare(tmp_path)
    assert series["dates"][0] == "2010-01-01 00:00:00"  # hourly: midnight keeps its time
    assert series["dates"][25] == "2010-01-02 01:00:00"
    path = hourly_csv(tmp_path, np.arange(HOURS))
    path.write_text(path.read_text().replace("2010,1,1,5,", "2010,1,1,five,"))
    with pytest.raises(StageError, match=r"line 7, column 'year\+month\+day\+hour': '2010 1 1"):
        prepare(tmp_path)


def test_date_format_and_joined_date_time_columns(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("Day,Time,v\n31.01.2010,23:30,1\n01.02.2010,00:00,2\n")
    frame = read_csv(path, ["Day", "Time"], ["v"], date_format="%d.%m.%Y %H:%M")
    assert frame["date"].tolist() == ["2010-01-31 23:30:00", "2010-02-01 00:00:00"]
    path.write_text("Day,v\n31.01.2010,1\n01.02.2010,2\n")
    frame = read_csv(path, "Day", ["v"], date_format="%d.%m.%Y")
    assert frame["date"].tolist() == ["2010-01-31", "2010-02-01"]  # date-only: no time
    with pytest.raises(StageError, match=r"line 2, column 'Day'.*not a date.*date_format"):
        read_csv(path, "Day", ["v"], date_format="%Y-%m-%d")


def values_with_na(n=HOURS, at=(10, 11, 20)):
    return ["NA" if i in at else float(i) for i in range(n)]


def test_fail_names_the_line_and_the_policies(tmp_path):
    hourly_csv(tmp_path, values_with_na())
    with pytest.raises(StageError, match=r"line 12, column 'v'.*'NA'.*3 such row.*missing: drop"):
        prepare(tmp_path)


def test_drop_removes_rows_and_prints_counts(tmp_path, capsys):
    hourly_csv(tmp_path, values_with_na())
    _, series, _ = prepare(tmp_path, missing="drop")
    assert len(series["target"]) == HOURS - 3 and 10.0 not in series["target"]
    out = capsys.readouterr().out
    assert "column 'v': 3 missing cell(s), rows dropped" in out
    assert "dropped 3 row(s) marked 'NA' (first: 2010-01-01 10:00:00)" in out


def test_ffill_and_interpolate_fill_in_row_order(tmp_path, capsys):
    hourly_csv(tmp_path, values_with_na())
    _, series, _ = prepare(tmp_path, missing={"policy": "ffill"})
    assert series["target"][10:12].tolist() == [9.0, 9.0] and len(series["target"]) == HOURS
    assert "column 'v': 3 missing cell(s), forward-filled" in capsys.readouterr().out
    _, series, _ = prepare(tmp_path, missing={"policy": "interpolate"})
    np.testing.assert_allclose(series["target"], np.arange(HOURS, dtype=float))
    assert "column 'v': 3 missing cell(s), interpolated" in capsys.readouterr().out


def test_custom_markers_replace_the_defaults(tmp_path, capsys):
    hourly_csv(tmp_path, [-999 if i == 5 else i for i in range(HOURS)])
    _, series, _ = prepare(tmp_path, missing={"markers": ["-999"], "policy": "interpolate"})
    assert series["target"][5] == 5.0
    hourly_csv(tmp_path, values_with_na())  # "NA" is not a marker any more: a bad number
    with pytest.raises(StageError, match=r"line 12, column 'v': value 'NA' is not a finite"):
        prepare(tmp_path, missing={"markers": ["-999"], "policy": "interpolate"})


def test_leading_missing_values_are_dropped_and_counted(tmp_path, capsys):
    hourly_csv(tmp_path, values_with_na(at=(0, 1, 2, 10)))
    _, series, _ = prepare(tmp_path, missing={"policy": "interpolate"})
    assert series["dates"][0] == "2010-01-01 03:00:00" and len(series["target"]) == HOURS - 3
    out = capsys.readouterr().out
    assert "column 'v': 4 missing cell(s), interpolated" in out
    assert "dropped 3 leading row(s)" in out and "first kept: 2010-01-01 03:00:00" in out


@pytest.mark.parametrize("span", [False, True])
def test_span_gaps_excludes_or_keeps_windows_across_dropped_rows(tmp_path, capsys, span):
    hourly_csv(tmp_path, values_with_na(at=(15,)))  # row 15 dropped: a gap between 14 and 16
    counts, series, meta = prepare(tmp_path, missing={"policy": "drop", "span_gaps": span})
    out = capsys.readouterr().out
    # lookback 3: the targets at kept rows 15, 16, 17 read a window across the gap
    assert "3 window(s) span a gap (train 3, val 0, test 0)" in out
    full = HOURS - 1 - 3  # 39 rows, history windows: every row from 3 on is a target
    assert sum(counts.values()) == (full if span else full - 3)
    train = load_npz(tmp_path / "out/demo/train.npz")
    assert set(train["positions"]) & {15, 16, 17} == ({15, 16, 17} if span else set())
    assert ("gap_before" in series) is (not span) and meta.get("span_gaps") is (
        None if span else False
    )
    if not span:  # re-windowing the training split (train_stride) skips the same windows
        window = task_cfg()["window"]
        x, _, _ = restrided("demo", meta, window, 1, tmp_path / "out")
        assert len(x) == counts["train"]


def test_the_shorthand_drop_keeps_the_seed_behaviour():
    assert Missing.parse("drop").span_gaps is True and Missing.parse("fail").policy == "fail"
    assert Missing.parse({"policy": "drop"}).span_gaps is False
    assert Missing.parse("drop").markers == ("", "NA", "N/A", "NaN", "nan", "null")
    with pytest.raises(StageError, match=r"missing must be fail, drop or a mapping"):
        Missing.parse("ffill")
    with pytest.raises(StageError, match=r"missing.policy must be one of"):
        Missing.parse({"policy": "zero"})
    with pytest.raises(StageError, match=r"unknown key\(s\) \['span'\]"):
        Missing.parse({"span": True})


WINDS = ["NW"] * 10 + ["NE"] * 10 + ["cv"] * 12 + ["SE"] * 8  # SE only in test (rows 32+)


def test_categorical_columns_are_one_hot_on_training_categories(tmp_path, capsys):
    hourly_csv(tmp_path, np.arange(HOURS), extra={"cbwd": WINDS})
    _, series, meta = prepare(
        tmp_path, features=["v", "cbwd"], categorical=["cbwd"], split={"val": 0.6, "test": 0.8}
    )
    assert meta["features"] == ["v", "cbwd=NE", "cbwd=NW", "cbwd=cv"]
    assert meta["categories"] == {"cbwd": ["NE", "NW", "cv"]}
    values = series["values"]
    assert values[0].tolist() == [0.0, 0.0, 1.0, 0.0] and values[30, 3] == 1.0
    assert (values[32:, 1:] == 0).all()  # SE first appears in test: all zeros
    out = capsys.readouterr().out
    assert "column 'cbwd': 8 val/test row(s) hold a category not seen in training (SE)" in out
    test = load_npz(tmp_path / "out/demo/test.npz")
    assert test["x"].shape[1:] == (3, 4)


def test_text_feature_without_categorical_is_an_error_naming_the_option(tmp_path):
    hourly_csv(tmp_path, np.arange(HOURS), extra={"cbwd": WINDS})
    with pytest.raises(StageError, match=r"column 'cbwd' holds text.*tasks.demo.categorical"):
        prepare(tmp_path, features=["v", "cbwd"])
    with pytest.raises(StageError, match=r"target 'v' is listed in tasks.demo.categorical"):
        prepare(tmp_path, features=["v", "cbwd"], categorical=["cbwd", "v"])
    with pytest.raises(StageError, match=r"add them to features too"):
        prepare(tmp_path, categorical=["cbwd"])


def test_missing_categories_follow_the_policy(tmp_path, capsys):
    winds = list(WINDS)
    winds[5] = "NA"
    hourly_csv(tmp_path, np.arange(HOURS), extra={"cbwd": winds})
    _, series, _ = prepare(
        tmp_path, features=["v", "cbwd"], categorical=["cbwd"], missing={"policy": "interpolate"}
    )
    assert series["values"][5, 1:].tolist() == series["values"][4, 1:].tolist()
    assert "column 'cbwd': 1 missing cell(s), forward-filled (text)" in capsys.readouterr().out


def test_freq_gap_fails_with_the_first_gap_named(tmp_path):
    hourly_csv(tmp_path, np.arange(HOURS), skip={7, 8, 20})
    with pytest.raises(StageError) as err:
        prepare(tmp_path, freq="h")
    message = str(err.value)
    assert "2 gap(s)" in message and "3 missing timestamp(s)" in message
    assert "first between 2010-01-01 06:00:00 and 2010-01-01 09:00:00" in message
    assert "missing.policy" in message


def test_freq_gaps_are_filled_or_kept_as_gaps(tmp_path, capsys):
    hourly_csv(tmp_path, np.arange(HOURS), skip={7, 8, 20})
    _, series, _ = prepare(tmp_path, freq="h", missing={"policy": "interpolate"})
    np.testing.assert_allclose(series["target"], np.arange(HOURS, dtype=float))
    assert series["dates"][7] == "2010-01-01 07:00:00"
    out = capsys.readouterr().out
    assert "2 gap(s) at freq 'h', 3 missing timestamp(s)" in out and "inserted" in out
    assert "column 'v': 3 missing cell(s), interpolated" in out
    counts, series, _ = prepare(tmp_path, freq="h", missing={"policy": "drop"})
    assert len(series["target"]) == HOURS - 3
    assert "window(s) span a gap" in capsys.readouterr().out and "gap_before" in series


def test_freq_needs_a_date_and_a_known_alias(tmp_path):
    hourly_csv(tmp_path, np.arange(HOURS))
    with pytest.raises(StageError, match=r"tasks.demo.freq needs dates"):
        prepare(tmp_path, date=None, freq="h")
    with pytest.raises(StageError, match=r"'fortnightly' is not a pandas offset alias"):
        prepare(tmp_path, freq="fortnightly")
    with pytest.raises(StageError, match=r"2010-01-01 01:00:00 \(line 3\) is not on the 'D'"):
        prepare(tmp_path, freq="D")
