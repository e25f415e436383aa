"""Windowing equals the seeds' own code, sample for sample."""

import numpy as np
import pytest

from stages.core.data import windows
from stages.core.io import StageError


def seed_get_xy(dat, time_steps):
    """Seed 001's get_XY, verbatim."""
    y_ind = np.arange(time_steps, len(dat), time_steps)
    y = dat[y_ind]
    rows_x = len(y)
    x = dat[range(time_steps * rows_x)]
    x = np.reshape(x, (rows_x, time_steps, 1))
    return x, y


def seed_create_dataset(ts, n_x=1, n_y=1):
    """Seed 000's book (Mastering TensorFlow, mvts_to_xy) for one series: 95 samples of 96."""
    data_x, data_y = [], []
    for i in range(ts.shape[0] - n_x - n_y + 1):
        data_x.append(ts[i : i + n_x, 0])
        data_y.append(ts[i + n_x : i + n_x + n_y, 0])
    return np.array(data_x), np.array(data_y)


def segment(series, start, stop, lookback, stride, horizon=1):
    pos = windows.target_positions(start, stop, lookback, horizon, stride, "segment", 0)
    return windows.sliding_windows(series[:, None], series, pos, lookback, horizon), pos


@pytest.mark.parametrize("n", [2256, 564, 25, 24, 13])
def test_non_overlapping_windows_equal_seed_get_xy(n):
    rng = np.random.default_rng(n)
    dat = rng.random(n).astype(np.float32)
    (x, y), _ = segment(dat, 0, n, 12, 12)
    sx, sy = seed_get_xy(dat, 12)
    np.testing.assert_array_equal(x, sx)
    np.testing.assert_array_equal(y[:, 0], sy)


def test_windows_inside_a_later_segment_match_get_xy_on_that_segment():
    dat = np.arange(2820, dtype=np.float32)
    (x, y), pos = segment(dat, 2256, 2820, 12, 12)
    sx, sy = seed_get_xy(dat[2256:], 12)
    np.testing.assert_array_equal(x, sx)
    np.testing.assert_array_equal(y[:, 0], sy)
    assert len(y) == 46 and pos[0] == 2268


def test_look_back_one_equals_seed_create_dataset():
    ts = np.random.default_rng(0).random((96, 1)).astype(np.float32)
    (x, y), _ = segment(ts[:, 0], 0, 96, 1, 1)
    sx, sy = seed_create_dataset(ts)
    assert len(x) == 95  # the seed's log: 95/95
    np.testing.assert_array_equal(x[:, :, 0], sx)
    np.testing.assert_array_equal(y, sy)


def test_history_context_reads_inputs_from_before_the_split():
    dat = np.arange(100, dtype=np.float32)
    pos = windows.target_positions(80, 100, 12, 1, 1, "history", 0)
    x, y = windows.sliding_windows(dat[:, None], dat, pos, 12, 1)
    assert pos[0] == 80 and len(pos) == 20
    np.testing.assert_array_equal(x[0, :, 0], np.arange(68, 80))
    assert y[0, 0] == 80


def test_horizon_and_first_valid_row():
    dat = np.arange(50, dtype=np.float32)
    pos = windows.target_positions(0, 50, 5, 3, 1, "history", 1)
    x, y = windows.sliding_windows(dat[:, None], dat, pos, 5, 3)
    assert x[0, 0, 0] == 1  # the first row (NaN after differencing) is never read
    assert y[0, 0] == x[0, -1, 0] + 3


def test_bad_context_and_split_are_clear_errors():
    with pytest.raises(StageError, match="context"):
        windows.target_positions(0, 10, 2, 1, 1, "sideways", 0)
    with pytest.raises(StageError, match="split"):
        windows.split_bounds(100, 0.9, 0.5)


def seed_get_batch(batch_start, time_steps=20, batch_size=50):
    """Seed 003's get_batch, without the globals."""
    xs = np.arange(batch_start, batch_start + time_steps * batch_size).reshape(
        (batch_size, time_steps)
    ) / (10 * np.pi)
    return np.sin(xs)[:, :, None], np.cos(xs)[:, :, None]


def test_stateful_training_batches_equal_seed_get_batch():
    i = np.arange(20 * (7 + 50)) / (10 * np.pi)
    starts = windows.stateful_starts(0, 7, 50, 20, 20)
    x, y, _ = windows.sequence_windows(np.sin(i)[:, None], np.cos(i), starts, 20)
    for step in range(7):
        sx, sy = seed_get_batch(step * 20)
        np.testing.assert_allclose(x[step * 50 : (step + 1) * 50], sx, rtol=1e-6)
        np.testing.assert_allclose(y[step * 50 : (step + 1) * 50], sy, rtol=1e-6)


def test_stateful_eval_rows_are_continuous_streams():
    starts = windows.stateful_starts(1000, 3, 4, 5, 15)
    by_row = starts.reshape(3, 4)
    np.testing.assert_array_equal(np.diff(by_row, axis=0), 5)  # row r continues itself
    assert by_row[0, 1] - by_row[0, 0] == 15
