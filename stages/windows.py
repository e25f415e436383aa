"""Vectorised windowing: turn a (time, features) array into (samples, steps, features) windows.

Two layouts cover the seeds:
- `sliding_windows`: one target per window, `horizon` steps after the window ends, one window
  every `stride` steps. Seed 001's `get_XY` is lookback = stride = 12 inside each split
  ("segment" context); seed 000's `create_dataset` is lookback 1, stride 1.
- `stateful_windows`: seed 003's stateful batches, where row r of every batch continues the
  stream that row r of the previous batch ended, so an LSTM can carry its state across batches.

No Python loop per sample: windows are gathered by index arithmetic on strided views.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from stages.common import StageError


def split_bounds(n: int, val: float, test: float) -> tuple[int, int]:
    """Row where validation starts and row where test starts, as the seeds compute them.

    Seeds use `int(n * fraction)`, so the boundaries are cumulative fractions (not sizes):
    sunspots 0.8 gives row 2256 of 2820; airline 0.67 gives row 96 of 144.
    """
    if not 0.0 < val <= test < 1.0:
        raise StageError(
            f"params.yaml: split needs 0 < val <= test < 1 (got val={val}, test={test}); "
            "they are the fractions of the series where validation and test start."
        )
    return int(n * val), int(n * test)


def target_positions(
    start: int, stop: int, lookback: int, horizon: int, stride: int, context: str, first_valid: int
) -> np.ndarray:
    """Positions of the targets inside [start, stop).

    "segment" windows never reach before `start` (the seeds split first and then window
    each part); "history" windows may read inputs from before the split, as a forecaster
    would, so every point of a validation or test split can be a target.
    """
    reach = lookback + horizon - 1
    if context == "segment":
        first = max(start, first_valid) + reach
    elif context == "history":
        first = max(start, first_valid + reach)
    else:
        raise StageError(
            f"params.yaml: window.context must be 'segment' or 'history', not {context!r}."
        )
    return np.arange(first, stop, stride, dtype=np.int64)


def sliding_windows(
    values: np.ndarray, target: np.ndarray, targets: np.ndarray, lookback: int, horizon: int
) -> tuple[np.ndarray, np.ndarray]:
    """Gather X (samples, lookback, features) and y (samples, 1) for the given target positions."""
    view = sliding_window_view(values, lookback, axis=0)  # (n - lookback + 1, features, lookback)
    x = view[targets - horizon - lookback + 1].transpose(0, 2, 1)
    return x.astype(np.float32), target[targets, None].astype(np.float32)


def stateful_starts(
    base: int, batches: int, batch_size: int, time_steps: int, row_gap: int
) -> np.ndarray:
    """Start of each window in stateful batch order: row j*batch_size + r starts at
    base + r*row_gap + j*time_steps, so row r of batch j+1 continues row r of batch j.

    With row_gap == time_steps this is seed 003's `get_batch` (each step moves the whole
    batch 20 points on); with row_gap == batches*time_steps the rows are disjoint streams,
    which is what held-out evaluation needs.
    """
    j, r = np.divmod(np.arange(batches * batch_size, dtype=np.int64), batch_size)
    return base + r * row_gap + j * time_steps


def sequence_windows(
    values: np.ndarray, target: np.ndarray, starts: np.ndarray, time_steps: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Many-to-many windows: X (samples, steps, features), y (samples, steps, 1), positions."""
    positions = starts[:, None] + np.arange(time_steps)
    x = values[positions]
    y = target[positions][..., None]
    return x.astype(np.float32), y.astype(np.float32), positions


def indexed_rows(min_index: int, max_index: int | None, lookback: int, delay: int, n: int):
    """Window-end rows of seed 002's generator for one split: [min + lookback, max).

    Row r reads inputs data[r - lookback : r : step] and targets data[r + delay]; the
    seed's max_index=None means len(data) - delay - 1. Only these integers are stored:
    the windows themselves are gathered batch by batch (see gather_windows).
    """
    stop = n - delay - 1 if max_index is None else int(max_index)
    return np.arange(int(min_index) + lookback, stop, dtype=np.int64)


def gather_windows(data: np.ndarray, rows: np.ndarray, lookback: int, step: int) -> np.ndarray:
    """Inputs for a batch of window-end rows, by one fancy-index gather (no Python loop).

    Memory is one batch, (len(rows), lookback // step, features), never every window:
    420,551 rows x 240 steps x 14 features would be 5.6 GB as float32.
    """
    offsets = np.arange(-lookback, 0, step, dtype=np.int64)
    return data[rows[:, None] + offsets]
